import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { delimiter, isAbsolute, join } from 'node:path';
import { accessSync, constants } from 'node:fs';
import { createLogger } from '../audit/logger.js';
import type { Config } from '../config.js';
import { createServer } from '../server/server.js';
import { StateStore } from '../store/state-store.js';
import { Supervisor } from '../supervisor/supervisor.js';
import { createBackend } from '../terminals/index.js';

/** `claude` as the agents' launcher will find it, or undefined when it is nowhere on PATH. */
export function findOnPath(program: string, path = process.env.PATH ?? ''): string | undefined {
  if (program.includes('/')) return isAbsolute(program) ? program : undefined;
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, program), constants.X_OK);
      return join(dir, program);
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Runs the stdio MCP server until the client disconnects. Agents are not stopped on exit:
 * they live in the terminal, and a later tabcrew finds them again through the state.
 */
export async function serve(config: Config): Promise<void> {
  const log = createLogger(config.logDir);
  const store = new StateStore(config.stateDir);
  await store.init();
  const state = await store.read();
  const backend = createBackend(config);
  if (!findOnPath(config.claudePath)) {
    process.stderr.write(
      `tabcrew: warning: Claude Code ("${config.claudePath}") is not on PATH; create_agent will fail. Install it (npm install -g @anthropic-ai/claude-code) or pass --claude-path.\n`,
    );
  }
  const supervisor = new Supervisor({ config, store, backend, log });
  const server = createServer({ supervisor, log });
  const transport = new StdioServerTransport();
  process.stderr.write(
    `tabcrew: serving MCP on stdio; backend ${backend.name} (tmux socket "${config.tmuxSocket}"), ${state.sessions.length} sessions and ${state.agents.length} agents in ${config.stateDir}\n`,
  );
  log.info('server started', { backend: backend.name, sessions: state.sessions.length, agents: state.agents.length });
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
    process.stdin.on('end', () => resolve());
  });
  await server.connect(transport);
  await closed;
  log.info('client disconnected; exiting, agents keep running');
  await backend.dispose();
  await new Promise<void>((resolve) => {
    const l = log as unknown as { end?: () => void; on?: (e: string, f: () => void) => void };
    if (l.end && l.on) {
      l.on('finish', resolve);
      l.end();
      setTimeout(resolve, 500).unref();
    } else resolve();
  });
}
