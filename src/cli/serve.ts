import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { packageRoot, sandboxMode, type Config } from '../config.js';
import { chooseSandbox } from '../claude/sandbox-host.js';
import { createServer } from '../server/server.js';
import { writeBoundaries } from '../supervisor/boundaries.js';
import { findOnPath } from '../util/find-on-path.js';
import { openStack, type Stack } from './stack.js';
import { closeLogger, createLogger } from '../audit/logger.js';
import { agentSocketPath } from '../claude/agent-mcp-config.js';
import { AgentSocket } from '../server/agent-socket/listener.js';
import { loadRolesFile } from '../claude/roles.js';
import { HandoverTransport } from '../server/handover-transport.js';
import { takeHandover } from './handover.js';
import type { CrewOptions } from '../crew/front.js';
import { CallEvents, type ToolDeps } from '../server/tool-kit.js';
import { serveHttp } from './serve-http.js';
import { keepStdoutForProtocol } from '../util/stdout-guard.js';
import { alertSinks } from './notify-sinks.js';

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

export async function serve(config: Config, crew?: CrewOptions): Promise<void> {
  // dist/cli.js may have answered initialize and tools/list already (scripts/cli-entry.mjs).
  const handover = config.noStdio ? undefined : takeHandover();
  if (!config.noStdio) keepStdoutForProtocol();
  // A bad roles file stops tabcrew here, before the handshake, saying what is wrong in it;
  // once the entry has answered the handshake, the client hears it like a state that fails (below).
  let badRoles: Error | undefined;
  try {
    if (config.rolesFile) loadRolesFile(config.rolesFile);
  } catch (e) {
    if (!handover) throw e;
    badRoles = e as Error;
  }
  const log = createLogger(config.logDir);
  // --notify-url: alerts leave through a queue of their own (src/notify/webhook.ts); their links
  // point at the dashboard, whose address is known once the HTTP server listens.
  const dashboard: { url?: string } = {};
  const alerts = alertSinks(config, log, () => config.notifyDashboardUrl ?? dashboard.url);
  // The handshake and tools/list do not need the state: they are answered while it opens
  // (decrypting it loads libsodium), and tool calls wait for it.
  let opened: Stack | undefined;
  // A state that cannot be opened (a wrong key, most often) fails every tool call with this
  // message: the client has its tool list already and shows what went wrong where it is used.
  const ready = (badRoles ? Promise.reject(badRoles) : openStack(config, { log, alerts })).then(
    (s) => {
      opened = s;
    },
    (e: Error) => {
      throw new Error(`tabcrew could not start, so no tool can run: ${e.message}`);
    },
  );
  // With --node: a front, routing calls to the nodes' own tabcrew over ssh (src/crew/), loaded only then (an MCP
  // client and its HTTP transport, a few MB).
  const front =
    crew?.nodes.length || crew?.discovery
      ? (await import('../crew/front.js')).openFront(crew, {
          runtimeDir: config.runtimeDir,
          log,
          ready,
          store: () => opened?.store,
          holdsRequest: async (id) => !!(await opened?.supervisor.holdsPermissionRequest(id)),
        })
      : undefined;
  const deps: ToolDeps = {
    log,
    ready,
    routeTools: front && ((s, d) => front.router.wrap(s, d)),
    routeResource: front && ((uri) => front.router.readNodeResource(uri)),
    calls: new CallEvents(),
    get supervisor() {
      return opened!.supervisor;
    },
    get audit() {
      return opened?.audit;
    },
  };
  if (config.noStdio && config.http === undefined) throw new Error('--no-stdio needs --http [HOST:]PORT: without either, nothing would reach this server.');
  if (config.http === undefined && (config.tls || config.httpHosts?.length))
    throw new Error('--tls, --tls-cert/--tls-key and --http-host are about the HTTP server: add --http [HOST:]PORT, or leave them out.');
  const http = await serveHttp(config, deps);
  dashboard.url = http?.url;
  const { server, close } = config.noStdio ? { server: undefined, close: () => undefined } : createServer(deps);
  const transport = config.noStdio
    ? undefined
    : handover
      ? new HandoverTransport(handover, (m) => {
          process.stderr.write(`tabcrew: warning: ${m}\n`);
          log.warn(m);
        })
      : new StdioServerTransport();
  if (handover) log.info('handshake answered by the entry', { requests: [...handover.answered.values()].map((a) => a.method) });
  const closed = new Promise<void>((resolve) => {
    if (transport) {
      transport.onclose = () => resolve();
      (handover?.input ?? process.stdin).on('end', () => resolve());
    } else {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    }
  });
  if (server && transport) await server.connect(transport);
  front?.start();
  try {
    await ready;
  } catch (e) {
    // Without stdio nobody is waiting for an answer: the message goes to stderr (cli.ts).
    if (!server) throw e;
    // The handshake may have been answered already (by the entry): exiting now would show the
    // client only "connection closed". Stay up until it leaves, answering every tool call
    // with the reason (deps.ready), and tell it once as an MCP log message.
    const message = (e as Error).message;
    log.error('start-up failed', { error: message });
    process.stderr.write(`tabcrew: ${message}\n`);
    tellClient(server, message);
    await closed;
    close();
    await front?.close();
    await http?.close();
    log.info('client disconnected after a failed start');
    await closeLogger(log);
    process.exitCode = 1;
    return;
  }
  const stack = opened!;
  const { supervisor, backend } = stack;
  // Agents' PreToolUse hooks consult it: a server that starts writes it from the state.
  await writeBoundaries(stack.store, config).catch((e: Error) => process.stderr.write(`tabcrew: warning: ${e.message}\n`));
  // Which OS sandbox agents get (claude/sandbox.ts), said once: decided here, not at the first create_agent.
  const box = chooseSandbox(sandboxMode(config), { program: config.sandboxProgram });
  process.stderr.write(`tabcrew: ${box.refusal ?? box.summary}\n`);
  log.info('sandbox', { summary: box.refusal ?? box.summary });
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
    `tabcrew: serving MCP on ${config.noStdio ? 'HTTP only' : 'stdio'}; backend ${backend.name} (${why}${where}); ${state.sessions.length} sessions and ${state.agents.length} agents in ${config.stateDir}; logs in ${config.logDir}\n`,
  );
  // iTerm2's Automation consent blocks the first Apple event: ask now, so a refusal is
  // reported at start with where to allow it, not in the middle of a tool call.
  await backend.preflight?.().catch((e: Error) => process.stderr.write(`tabcrew: warning: ${e.message}\n`));
  if (front)
    process.stderr.write(
      `tabcrew: front of ${front.links.size} nodes: ${[...front.links.values()].map((l) => `${l.name} (${l.url()})`).join(', ')}${crew?.discovery ? `; more from DNS SRV ${crew.discovery.srv} every ${crew.discovery.refreshMs / 1000} s` : ''}; tabcrew nodes shows their state\n`,
    );
  log.info('server started', { backend: backend.name, sessions: state.sessions.length, agents: state.agents.length });
  // Agents' own MCP servers (agent-mcp) reach the supervisor here; queued messages are pushed from here on.
  const agentSocket = new AgentSocket({ path: agentSocketPath(config.runtimeDir), supervisor, log, audit: stack.audit });
  await agentSocket.start().catch((e: Error) => process.stderr.write(`tabcrew: warning: agents cannot reach this server: ${e.message}\n`));
  supervisor.startMessagePump();
  let recovering: Promise<unknown> = Promise.resolve();
  if (config.autoRecover && state.agents.length) {
    // After the handshake, so a client never times out waiting for agents to come back;
    // tool calls on an agent wait for its recovery (per-agent lock).
    recovering = supervisor.recover().then(
      (r) => {
        if (r.recovered.length || r.failed.length || r.orphans.length) {
          process.stderr.write(
            `tabcrew: recovery: ${r.adopted.length} adopted, ${r.recovered.length} resumed, ${r.failed.length} failed, ${r.orphans.length} orphan tabs\n`,
          );
        }
      },
      (e: Error) => {
        log.error('recovery failed', { error: e.message, stack: e.stack });
        process.stderr.write(`tabcrew: recovery failed: ${e.message}\n`);
      },
    );
  }
  // Coordination runs a stopped tabcrew left running: collected on, once agents are back.
  const resumed = recovering.then(() => supervisor.resumeRuns()).catch((e: Error) => log.error('coordination resume failed', { error: e.message }));
  // Budgets, health, relaunches and usage records run while the server does (docs/long-running.md).
  supervisor.startKeeper();
  // New overlaps between agents' changes are announced while the server runs (docs/review-and-merge.md).
  supervisor.startOverlapWatch();
  await closed;
  // A client that leaves at once leaves the recovery running: it uses the tabs, the state, the
  // audit log and the log, so it ends before they close (its agents then keep running, recorded).
  const pending = await Promise.race([resumed.then(() => false), new Promise<true>((r) => setTimeout(() => r(true), 200).unref())]);
  if (pending)
    process.stderr.write(
      `tabcrew: the client left while agents were being recovered; finishing that first (at most --start-timeout, ${config.startTimeoutS} s)\n`,
    );
  await resumed;
  await supervisor.stopKeeper();
  close();
  supervisor.stopMessagePump();
  supervisor.stopOverlapWatch();
  await agentSocket.close();
  await front?.close();
  await http?.close();
  await alerts.close();
  log.info('client disconnected; exiting, agents keep running');
  await supervisor.suspendRuns();
  await stack.close();
}

/** The reason a start failed, as an MCP log message: at once, or once the client has initialized. */
function tellClient(server: McpServer, message: string): void {
  const send = (): void => void server.sendLoggingMessage({ level: 'error', logger: 'tabcrew', data: message }).catch(() => undefined);
  if (server.server.getClientVersion()) return send();
  const before = server.server.oninitialized;
  server.server.oninitialized = () => {
    before?.();
    send();
  };
}
