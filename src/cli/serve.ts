import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { packageRoot, type Config } from '../config.js';
import { createServer } from '../server/server.js';
import { writeBoundaries } from '../supervisor/boundaries.js';
import { findOnPath } from '../util/find-on-path.js';
import { openStack, type Stack } from './stack.js';
import { createLogger } from '../audit/logger.js';
import type { ToolDeps } from '../server/tool-kit.js';
import { serveHttp } from './serve-http.js';

/**
 * Runs the stdio MCP server until the client disconnects. Agents are not stopped on exit:
 * they live in the terminal, and a later tabcrew finds them again through the state.
 * Nothing but the MCP protocol may reach stdout.
 */
const AUTO_REASON = {
  iterm2: 'macOS with iTerm2 installed',
  tmux: 'tmux is on PATH',
  pty: 'no iTerm2 and no tmux on PATH',
} as const;

export async function serve(config: Config): Promise<void> {
  const log = createLogger(config.logDir);
  // The handshake and tools/list do not need the state: they are answered while it opens
  // (decrypting it loads libsodium), and tool calls wait for it.
  let opened: Stack | undefined;
  const ready = openStack(config, { log }).then((s) => {
    opened = s;
  });
  const deps: ToolDeps = {
    log,
    ready,
    get supervisor() {
      return opened!.supervisor;
    },
    get audit() {
      return opened?.audit;
    },
  };
  if (config.noStdio && config.http === undefined) throw new Error('--no-stdio needs --http [HOST:]PORT: without either, nothing would reach this server.');
  const http = await serveHttp(config, deps);
  const { server, close } = config.noStdio ? { server: undefined, close: () => undefined } : createServer(deps);
  const transport = config.noStdio ? undefined : new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    if (transport) {
      transport.onclose = () => resolve();
      process.stdin.on('end', () => resolve());
    } else {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    }
  });
  if (server && transport) await server.connect(transport);
  // An unreadable state stops the server here, with the store's message (cli.ts prints it).
  await ready;
  const stack = opened!;
  const { supervisor, backend } = stack;
  // Agents' PreToolUse hooks consult it: a server that starts writes it from the state.
  await writeBoundaries(stack.store, config).catch((e: Error) => process.stderr.write(`tabcrew: warning: ${e.message}\n`));
  if (config.claudeFromPackage) {
    process.stderr.write(`tabcrew: no claude on PATH; agents run the Claude Code of this checkout, ${config.claudePath} (--claude-path chooses another)\n`);
  } else if (!findOnPath(config.claudePath)) {
    process.stderr.write(
      `tabcrew: warning: Claude Code ("${config.claudePath}") was not found; create_agent will fail. Install it (npm install -g @anthropic-ai/claude-code, or npm install in ${packageRoot()}) or pass --claude-path / set TABCREW_CLAUDE_PATH.\n`,
    );
  }
  const state = await stack.store.read();
  const why = config.backend === 'auto' ? `chosen by --backend auto: ${AUTO_REASON[backend.name]}` : 'from --backend';
  const where = backend.name === 'tmux' ? `, tmux socket "${config.tmuxSocket}"` : backend.name === 'pty' ? '; PTY tabs end with this server' : '';
  process.stderr.write(
    `tabcrew: serving MCP on ${config.noStdio ? 'HTTP only' : 'stdio'}; backend ${backend.name} (${why}${where}); ${state.sessions.length} sessions and ${state.agents.length} agents in ${config.stateDir}\n`,
  );
  // iTerm2's Automation consent blocks the first Apple event: ask now, so a refusal is
  // reported at start with where to allow it, not in the middle of a tool call.
  await backend.preflight?.().catch((e: Error) => process.stderr.write(`tabcrew: warning: ${e.message}\n`));
  log.info('server started', { backend: backend.name, sessions: state.sessions.length, agents: state.agents.length });
  if (config.autoRecover && state.agents.length) {
    // After the handshake, so a client never times out waiting for agents to come back;
    // tool calls on an agent wait for its recovery (per-agent lock).
    void supervisor.recover().then(
      (r) => {
        if (r.recovered.length || r.failed.length || r.orphans.length) {
          process.stderr.write(
            `tabcrew: recovery: ${r.adopted.length} adopted, ${r.recovered.length} resumed, ${r.failed.length} failed, ${r.orphans.length} orphan tabs\n`,
          );
        }
      },
      (e: Error) => log.error('recovery failed', { error: e.message, stack: e.stack }),
    );
  }
  await closed;
  close();
  await http?.close();
  log.info('client disconnected; exiting, agents keep running');
  await stack.close();
}
