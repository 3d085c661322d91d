import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { createLogger } from '../audit/logger.js';
import type { Config } from '../config.js';
import { createServer } from '../server/server.js';
import { StateStore } from '../store/state-store.js';
import { Supervisor } from '../supervisor/supervisor.js';
import { findOnPath } from '../supervisor/find-on-path.js';
import { createBackend } from '../terminals/index.js';

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
