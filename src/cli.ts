#!/usr/bin/env node
import { resolve } from 'node:path';
import { Command, CommanderError, Help, InvalidArgumentError, Option } from 'commander';
import { defaultConfig, withResolvedPaths, type Config } from './config.js';
import { agentsCommand } from './cli/agents.js';
import { configClaudeCodeCommand, configClaudeDesktopCommand } from './cli/config-claude.js';
import { doctorCommand } from './cli/doctor.js';
import { recoverCommand } from './cli/recover.js';
import { serve } from './cli/serve.js';
import { sessionsCommand } from './cli/sessions.js';
import { statusCommand } from './cli/status.js';
import { version } from './version.js';
import { KEY_SOURCES, type KeySource } from './store/keys.js';
import { keyRotateCommand } from './cli/key-rotate.js';
import { stateAcceptRollbackCommand } from './cli/state-accept-rollback.js';
import { auditTailCommand, auditVerifyCommand } from './cli/audit.js';
import { changesCommand } from './cli/changes.js';
import { messageShowCommand, messagesCommand, parseDuration } from './cli/messages.js';
import { runsCommand, runShowCommand } from './cli/runs.js';
import { longRunConfig, withLongRunOptions, withPriceOptions } from './cli/long-run-options.js';
import { setHandover } from './cli/handover.js';
import type { Handover } from './server/handover-transport.js';
import { crewOptionsFrom, doctorNodeCommand, nodesCommand, withNodeOptions } from './cli/nodes.js';
import { parseListenAddress } from './server/http/listen-address.js';
import { claudeCodeHttpLine, claudeCodeHttpNote, configHttpCommand, dashboardCommand, fingerprintCommand } from './cli/http-config.js';
import { tlsChoiceFrom } from './server/http/tls.js';
import { withStateDirs } from './cli/state-dirs.js';
import { dnsLabel, imageRef, MAX_NODES, nodeCount } from './cli/k8s-inputs.js';
import { DEFAULTS as K8S, manifestsYaml } from './cli/k8s-manifests.js';

/** `--http [HOST:]PORT` checked as it is parsed: a bad one is a usage error (exit 2) before anything starts. */
function httpAddress(value: string): string {
  try {
    parseListenAddress(value);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
  return value;
}

function httpBindAddress(value: string): string {
  try {
    parseListenAddress('0', value);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
  return value;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number of at least 1.');
  return n;
}

// --help headings. A command's own flags come first, under the usual heading; the flags every
// command shares follow under theirs. A shared flag a command has no use for is still taken
// (one set of flags fits every command) but left out of its help.
const OWN_OPTIONS = 'Options:';
const STATE_OPTIONS = 'Shared options (the same in every command):';
const SERVER_RULES = 'Rules of the server:';
const NODE_OPTIONS = 'Nodes of the crew (docs/nodes.md):';
/** Shared flags only the commands that touch tabs or costs use. */
const TERMINAL_FLAGS = ['--backend', '--tmux-socket', '--runtime-dir', '--claude-path', '--prices-file'];

/** Own options first: commander orders headings by the first option added, and the shared ones are added first. */
function ownOptionsFirst<T extends Command | Option>(this: Help, unsorted: T[], visible: T[], getGroup: (item: T) => string): Map<string, T[]> {
  const groups = Help.prototype.groupItems.call<Help, [T[], T[], (item: T) => string], Map<string, T[]>>(this, unsorted, visible, getGroup);
  const own = groups.get(OWN_OPTIONS);
  return own ? new Map([[OWN_OPTIONS, own], ...[...groups].filter(([heading]) => heading !== OWN_OPTIONS)]) : groups;
}

/** Hides `flags` from the command's help (they are still taken) and says so in one line. */
function unlist(cmd: Command, which: (o: Option) => boolean, note: string): Command {
  const hidden = cmd.options.filter(which);
  for (const o of hidden) o.hideHelp();
  return hidden.length ? cmd.addHelpText('after', `\n${wrap(note)}`) : cmd;
}

/** Words to lines of at most `width` characters, as commander wraps its own help. */
function wrap(text: string, width = 80): string {
  const lines: string[] = [];
  for (const word of text.split(' ')) {
    const last = lines.length - 1;
    if (last >= 0 && lines[last].length + 1 + word.length <= width) lines[last] += ` ${word}`;
    else lines.push(word);
  }
  return lines.join('\n');
}

/**
 * Where the state, logs and tabs are: every command that reads what `serve` wrote needs these.
 * `terminal: false`: a command that reads only the state and the logs.
 */
function withStateOptions(cmd: Command, o: { terminal?: boolean } = {}): Command {
  const d = defaultConfig();
  cmd.optionsGroup(STATE_OPTIONS);
  withPriceOptions(cmd)
    .addOption(new Option('--backend <name>', 'terminal backend').choices(['auto', 'tmux', 'iterm2', 'pty']).default(d.backend).env('TABCREW_BACKEND'))
    .addOption(new Option('--state-dir <dir>', 'where the state is kept').default(d.stateDir).env('TABCREW_STATE_DIR'))
    .addOption(new Option('--log-dir <dir>', `where logs are written (default: ${d.logDir}; <state-dir>-logs with another --state-dir)`).env('TABCREW_LOG_DIR'))
    .addOption(
      new Option('--runtime-dir <dir>', 'plaintext files Claude Code reads (hook settings, hook spool)').default(d.runtimeDir).env('TABCREW_RUNTIME_DIR'),
    )
    .addOption(new Option('--claude-path <path>', 'the Claude Code executable').default(d.claudePath).env('TABCREW_CLAUDE_PATH'))
    .addOption(new Option('--tmux-socket <name>', 'tmux server socket name (tmux -L)').default(d.tmuxSocket).env('TABCREW_TMUX_SOCKET'))
    .addOption(
      new Option('--key-source <source>', 'where the state key lives')
        .choices([...KEY_SOURCES])
        .default(d.keySource)
        .env('TABCREW_KEY_SOURCE'),
    )
    .addOption(new Option('--key-file <path>', 'the state key file (default ~/.config/tabcrew/state.key)').env('TABCREW_KEY_FILE'));
  cmd.optionsGroup(OWN_OPTIONS);
  if (o.terminal === false) {
    unlist(cmd, (x) => TERMINAL_FLAGS.includes(x.long ?? ''), `It also takes ${TERMINAL_FLAGS.join(', ')} (unused here): one set of flags fits every command.`);
  }
  return cmd;
}

/**
 * Options of the commands that start agents (`serve`, `recover`): the state's plus the rules.
 * `listRules: false`: taken, so `recover` accepts serve's flags, but only serve's help lists them.
 */
function withServerOptions(cmd: Command, o: { listRules?: boolean } = {}): Command {
  const d = defaultConfig();
  withStateOptions(cmd).optionsGroup(SERVER_RULES);
  withLongRunOptions(cmd)
    .addOption(new Option('--max-agents <n>', 'most agents at once').argParser(positiveInt).default(d.maxAgents).env('TABCREW_MAX_AGENTS'))
    .addOption(new Option('--max-sessions <n>', 'most sessions at once').argParser(positiveInt).default(d.maxSessions).env('TABCREW_MAX_SESSIONS'))
    .addOption(
      new Option('--security-level <level>', 'how strict tabcrew is with roots and permission modes')
        .choices(['LOW', 'MEDIUM', 'HIGH'])
        .default(d.securityLevel)
        .env('TABCREW_SECURITY_LEVEL'),
    )
    .addOption(
      new Option('--start-timeout <seconds>', 'how long create_agent waits for an agent to be ready')
        .argParser(positiveInt)
        .default(d.startTimeoutS)
        .env('TABCREW_START_TIMEOUT'),
    )
    .addOption(
      new Option(
        '--no-accept-api-key',
        'leave Claude Code\'s first-run questions to the person: neither approve ANTHROPIC_API_KEY for agents ("Do you want to use this API key?") nor record its first-run setup as completed',
      ).env('TABCREW_NO_ACCEPT_API_KEY'),
    )
    .addOption(new Option('--allow-bypass', 'security level MEDIUM: allow permission_mode bypassPermissions').env('TABCREW_ALLOW_BYPASS'))
    .addOption(
      new Option('--allowed-root <dir...>', 'security level HIGH: session roots must lie under one of these')
        .default([] as string[])
        .env('TABCREW_ALLOWED_ROOTS'),
    )
    .addOption(
      new Option('--rate-limit-burst <n>', 'messages an agent may receive at once')
        .argParser(positiveInt)
        .default(d.rateLimitBurst)
        .env('TABCREW_RATE_LIMIT_BURST'),
    )
    .addOption(
      new Option('--rate-limit-per-minute <n>', 'messages an agent may receive per minute after the burst')
        .argParser(positiveInt)
        .default(d.rateLimitPerMinute)
        .env('TABCREW_RATE_LIMIT_PER_MINUTE'),
    )
    .addOption(
      new Option('--message-ttl <duration>', 'how long agent messages are kept, delivered or not (3h, 90m, 600s)')
        .argParser(parseDuration)
        .default(d.messageTtlS, '3h')
        .env('TABCREW_MESSAGE_TTL'),
    )
    .addOption(new Option('--roles-file <file>', 'JSON or YAML roles that add to or replace the built-in ones').env('TABCREW_ROLES_FILE'))
    .addOption(
      new Option('--max-children <n>', 'helpers one agent may start at once').argParser(positiveInt).default(d.maxChildren).env('TABCREW_MAX_CHILDREN'),
    )
    .addOption(new Option('--max-depth <n>', 'how deep helpers of helpers may go').argParser(positiveInt).default(d.maxDepth).env('TABCREW_MAX_DEPTH'))
    .addOption(
      new Option(
        '--permission-timeout <seconds>',
        "how long an agent's permission request waits for decide_permission before only its own dialog answers (default: no limit)",
      )
        .argParser(positiveInt)
        .env('TABCREW_PERMISSION_TIMEOUT'),
    );
  withSandboxOptions(cmd);
  cmd.optionsGroup(OWN_OPTIONS);
  if (o.listRules === false) {
    unlist(
      cmd,
      (x) => x.helpGroupHeading === SERVER_RULES,
      "It also takes serve's rules (--max-agents, --security-level, …: see tabcrew serve --help): one set of flags fits both.",
    );
  }
  return cmd;
}

/** DNS names or addresses as they appear in a Host header (no port); the environment gives them comma-separated. */
function hostNames(value: string, prev: string[] = []): string[] {
  const names = value.split(',').map((v) => v.trim());
  for (const name of names)
    if (!/^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]+\])$/.test(name))
      throw new InvalidArgumentError(`"${name}" is not a host name: letters, digits, "." and "-" (an IPv6 address in brackets), without a port.`);
  return [...prev, ...names];
}

/** The OS sandbox of agents (claude/sandbox.ts): for the commands that start agents, and doctor. */
function withSandboxOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--sandbox <mode>', 'run each agent in the OS sandbox (bubblewrap / Seatbelt): auto when it works, on or refuse (default: auto; on at HIGH)')
        .choices(['off', 'auto', 'on'])
        .env('TABCREW_SANDBOX'),
    )
    .addOption(
      new Option('--sandbox-allow <path...>', "paths every agent's sandbox shows too, read-only (PATH:rw for read-write)")
        .default([] as string[])
        .env('TABCREW_SANDBOX_ALLOW'),
    )
    .addOption(
      new Option('--sandbox-program <path>', 'the bwrap (Linux) or sandbox-exec (macOS) to run agents in (default: on PATH)').env('TABCREW_SANDBOX_PROGRAM'),
    );
}

/** A colon-separated list from the environment, like PATH; a `rw` or `ro` entry belongs to the path before it (`/a:rw:/b`). */
export function splitPathList(s: string): string[] {
  const out: string[] = [];
  for (const part of s.split(':')) {
    if ((part === 'rw' || part === 'ro') && out.length) out[out.length - 1] += `:${part}`;
    else if (part) out.push(part);
  }
  return out;
}

/** Options a command did not declare keep their defaults. */
function configFrom(o: Record<string, unknown>): Config {
  const d = defaultConfig();
  const claudePath = (o.claudePath as string | undefined) ?? d.claudePath;
  const config = withResolvedPaths({
    backend: (o.backend as Config['backend']) ?? d.backend,
    maxAgents: (o.maxAgents as number) ?? d.maxAgents,
    maxSessions: (o.maxSessions as number) ?? d.maxSessions,
    stateDir: (o.stateDir as string) ?? d.stateDir,
    logDir: (o.logDir as string) ?? d.logDir,
    runtimeDir: (o.runtimeDir as string) ?? d.runtimeDir,
    // Agents start in their session root, so a relative path would name a different file there.
    claudePath: claudePath.includes('/') ? resolve(claudePath) : claudePath,
    tmuxSocket: (o.tmuxSocket as string) ?? d.tmuxSocket,
    securityLevel: (o.securityLevel as Config['securityLevel']) ?? d.securityLevel,
    startTimeoutS: (o.startTimeout as number) ?? d.startTimeoutS,
    autoRecover: o.autoRecover !== false,
    acceptApiKey: o.acceptApiKey !== false,
    allowBypass: !!o.allowBypass,
    // From the environment the list arrives as one string: colon-separated, like PATH.
    allowedRoots: (typeof o.allowedRoot === 'string' ? o.allowedRoot.split(':') : ((o.allowedRoot as string[]) ?? [])).filter(Boolean),
    rateLimitBurst: (o.rateLimitBurst as number) ?? d.rateLimitBurst,
    rateLimitPerMinute: (o.rateLimitPerMinute as number) ?? d.rateLimitPerMinute,
    keySource: (o.keySource as KeySource) ?? d.keySource,
    keyFile: o.keyFile === undefined ? undefined : resolve(o.keyFile as string),
    messageTtlS: (o.messageTtl as number | undefined) ?? d.messageTtlS,
    rolesFile: o.rolesFile === undefined ? undefined : resolve(o.rolesFile as string),
    maxChildren: (o.maxChildren as number) ?? d.maxChildren,
    maxDepth: (o.maxDepth as number) ?? d.maxDepth,
    ...(o.permissionTimeout !== undefined ? { permissionTimeoutS: o.permissionTimeout as number } : {}),
    ...longRunConfig(o),
    http: o.http as string | undefined,
    httpBind: o.httpBind as string | undefined,
    noStdio: o.stdio === false,
    ...(o.sandbox !== undefined ? { sandbox: o.sandbox as Config['sandbox'] } : {}),
    sandboxAllow: typeof o.sandboxAllow === 'string' ? splitPathList(o.sandboxAllow) : ((o.sandboxAllow as string[]) ?? []),
    ...(o.sandboxProgram !== undefined ? { sandboxProgram: resolve(o.sandboxProgram as string) } : {}),
    tls: tlsChoiceFrom({ tls: !!o.tls, tlsCert: o.tlsCert as string | undefined, tlsKey: o.tlsKey as string | undefined }),
    httpHosts: (o.httpHost as string[] | undefined) ?? [],
  });
  return withStateDirs(config, o);
}

const JSON_HELP = 'print JSON instead of a table';

/** Commander's errors are usage errors; the command they came from picks the usage line. */
let failedCommand: Command | undefined;

function track(cmd: Command): Command {
  return cmd.exitOverride((err) => {
    failedCommand ??= cmd;
    throw err;
  });
}

function fullName(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

function examples(...lines: string[]): string {
  return `\nExample${lines.length > 1 ? 's' : ''}:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;
}

/**
 * A command on the state that prints a report: a table, or JSON with --json; with `session`,
 * --session narrows it to one session.
 */
function reportCommand(
  parent: Command,
  name: string,
  description: string,
  run: (config: Config, o: { session?: string; json: boolean }) => number | Promise<number>,
  o: { session?: boolean; examples: string[]; terminal?: boolean },
): Command {
  const cmd = track(withStateOptions(parent.command(name).description(description), { terminal: o.terminal }));
  if (o.session) cmd.option('--session <session>', 'only this session (id or name)');
  return cmd
    .option('--json', JSON_HELP)
    .addHelpText('after', examples(...o.examples))
    .action(async (opts: Record<string, unknown>) => {
      process.exitCode = await run(configFrom(opts), { session: opts.session as string | undefined, json: !!opts.json });
    });
}

/** Edit distance at most 2, for "did you mean". */
function near(a: string, b: string): boolean {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  }
  return d[a.length][b.length] <= 2;
}

/** The serve options a newcomer needs first, shown in the program's own help. */
const COMMON_SERVE_OPTIONS = ['--backend', '--state-dir', '--claude-path', '--tmux-socket', '--security-level', '--allowed-root', '--key-source'];

function commonServeOptions(serveCmd: Command): string {
  const help = serveCmd.createHelp();
  const opts = serveCmd.options.filter((o) => COMMON_SERVE_OPTIONS.includes(o.long ?? ''));
  const width = Math.max(...opts.map((o) => help.optionTerm(o).length));
  return [
    '',
    'Common options of serve (the default command; `tabcrew serve --help` lists all of them, each command --help its own):',
    ...opts.map((o) => `  ${help.optionTerm(o).padEnd(width)}  ${help.optionDescription(o)}`),
    examples('tabcrew serve --backend tmux --tmux-socket tabcrew', 'tabcrew doctor', 'tabcrew config claude-code'),
  ].join('\n');
}

export function buildProgram(): Command {
  const program = track(
    new Command('tabcrew')
      .description('Supervise a crew of Claude Code agents, each in its own terminal tab, over MCP.')
      .version(version)
      .showSuggestionAfterError()
      // Set before any subcommand is made: they inherit it.
      .configureHelp({ groupItems: ownOptionsFirst }),
  );
  const commandNames = (): string[] => program.commands.map((c) => c.name());

  const serveCmd = track(
    withNodeOptions(
      withServerOptions(program.command('serve', { isDefault: true }).description('run the MCP server on stdio (the default)')).optionsGroup(NODE_OPTIONS),
    ).optionsGroup(OWN_OPTIONS),
  );
  program.addHelpText('after', () => commonServeOptions(serveCmd));
  serveCmd
    .addOption(new Option('--no-auto-recover', 'do not bring agents back when the server starts').env('TABCREW_NO_AUTO_RECOVER'))
    .addOption(
      new Option('--http <[host:]port>', 'also serve MCP (at /mcp), the REST mirror and the dashboard over HTTP (docs/http.md)')
        .argParser(httpAddress)
        .env('TABCREW_HTTP'),
    )
    .addOption(
      new Option('--http-bind <address>', 'listen on this address instead of 127.0.0.1 (reachable from other machines)')
        .argParser(httpBindAddress)
        .env('TABCREW_HTTP_BIND'),
    )
    .addOption(new Option('--no-stdio', 'with --http: no MCP on stdio; run until stopped (SIGINT/SIGTERM)'))
    .addOption(
      new Option('--tls', 'with --http: serve https with a self-signed certificate made on first start (needs openssl; docs/nodes.md)').env('TABCREW_TLS'),
    )
    .addOption(new Option('--tls-cert <file>', 'with --http: serve https with this PEM certificate (and --tls-key)').env('TABCREW_TLS_CERT'))
    .addOption(new Option('--tls-key <file>', 'the PEM key of --tls-cert').env('TABCREW_TLS_KEY'))
    .addOption(
      new Option('--http-host <name>', "with --http: one more name this server is reached by, accepted in Host (repeatable; e.g. a node's DNS name)")
        .argParser(hostNames)
        .default([] as string[])
        .env('TABCREW_HTTP_HOST'),
    )
    // Words after the default command arrive here: most likely a mistyped command name.
    .allowExcessArguments(true)
    .addHelpText('after', examples('tabcrew serve --tmux-socket tabcrew'))
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      if (cmd.args.length) {
        const word = cmd.args[0];
        const guess = commandNames().find((n) => near(word, n));
        failedCommand = program;
        cmd.error(`error: "${word}" is not a tabcrew command${guess ? ` (did you mean ${guess}?)` : ''}; commands: ${commandNames().join(', ')}.`, {
          code: 'commander.unknownCommand',
        });
      }
      await serve(configFrom(opts), crewOptionsFrom(opts));
    });

  reportCommand(program, 'status', 'each agent: status (checked against the terminal), tokens, last change', statusCommand, {
    session: true,
    examples: ['tabcrew status', 'tabcrew status --session app --json'],
  });

  reportCommand(program, 'sessions', 'sessions in the state: name, id, root, agents', sessionsCommand, { examples: ['tabcrew sessions --json'] });

  reportCommand(program, 'agents', 'agents in the state, with their status as last recorded (tabcrew status looks live)', agentsCommand, {
    session: true,
    examples: ['tabcrew agents --session app'],
  });

  const runs = reportCommand(program, 'runs', 'coordination runs (coordinate_agents): mode, state, progress', runsCommand, {
    session: true,
    examples: ['tabcrew runs', 'tabcrew runs --session app', 'tabcrew runs show r-1a2b3c4d'],
  });
  // The options of `runs` (state dirs, --json) are read by it wherever they stand, also after `show RUN`.
  track(runs.command('show').argument('<run>', 'the run id').description("one run: every agent's reply, status and time; votes of a consensus")).action(
    async (run: string, _opts: Record<string, unknown>, cmd: Command) => {
      const opts = cmd.parent!.opts();
      process.exitCode = await runShowCommand(configFrom(opts), { run, json: !!opts.json });
    },
  );

  track(
    withServerOptions(program.command('recover').description('bring agents back after a restart: adopt live tabs, resume conversations whose tabs are gone'), {
      listRules: false,
    }),
  )
    .option('--session <session>', 'only this session (id or name)')
    .option('--dry-run', 'report what would be done, change nothing')
    .option('--close-orphans', 'also close orphan tabs (no agent owns them, or a second tab runs an agent)')
    .option('--json', JSON_HELP)
    .addHelpText('after', examples('tabcrew recover --dry-run', 'tabcrew recover --close-orphans'))
    .action(async (opts: Record<string, unknown>) => {
      process.exitCode = await recoverCommand(configFrom(opts), {
        session: opts.session as string | undefined,
        dryRun: !!opts.dryRun,
        closeOrphans: !!opts.closeOrphans,
        json: !!opts.json,
      });
    });

  track(
    withNodeOptions(
      withSandboxOptions(
        withStateOptions(
          program
            .command('doctor')
            .description('check Node.js, the terminal backend, Claude Code, the OS sandbox and the directories; exits 1 if a check fails'),
        ),
      ),
    ),
  )
    .option('--json', JSON_HELP)
    .addHelpText(
      'after',
      examples('tabcrew doctor', 'tabcrew doctor --claude-path ~/.local/bin/claude', 'tabcrew doctor --node box1 --nodes-file ~/.config/tabcrew/nodes.yaml'),
    )
    .action(async (opts: Record<string, unknown>) => {
      // `--node box1` (a bare name) checks that node; `--node box1=ssh://…` defines it.
      const named = ((opts.node as string[]) ?? []).filter((v) => !v.includes('='));
      if (named.length) {
        const crew = crewOptionsFrom({ ...opts, node: (opts.node as string[]).filter((v) => v.includes('=')) });
        process.exitCode = await doctorNodeCommand(configFrom(opts), crew, named[0], { json: !!opts.json });
        return;
      }
      process.exitCode = await doctorCommand(configFrom(opts), { json: !!opts.json });
    });

  track(withStateOptions(program.command('changes').description("what each agent changed: its branch against the session's base branch, files and +/-")))
    .option('--session <session>', 'only this session (id or name)')
    .option('--agent <agent>', 'only this agent')
    .option('--patch', 'also print the diffs')
    .option('--json', JSON_HELP)
    .addHelpText('after', examples('tabcrew changes --session app', 'tabcrew changes --agent Agent_2 --patch'))
    .action(async (opts: Record<string, unknown>) => {
      process.exitCode = await changesCommand(configFrom(opts), {
        session: opts.session as string | undefined,
        agent: opts.agent as string | undefined,
        patch: !!opts.patch,
        json: !!opts.json,
      });
    });

  const messages = track(
    withStateOptions(program.command('messages').description('agent messages of the state: sender, recipients, kind, size, delivery (no text)')),
  )
    .option('--session <session>', 'only this session (id or name)')
    .option('--agent <agent>', 'only messages from or to this agent')
    .option('--json', JSON_HELP)
    .addHelpText('after', examples('tabcrew messages --session app', 'tabcrew messages show m-abc123def4'))
    .action(async (opts: Record<string, unknown>) => {
      process.exitCode = await messagesCommand(configFrom(opts), {
        session: opts.session as string | undefined,
        agent: opts.agent as string | undefined,
        json: !!opts.json,
      });
    });
  // The state options are the parent's: commander hands them to `messages` wherever they stand.
  track(messages.command('show').description('one message with its text (the only place tabcrew shows it)').argument('<id>', 'the message id (m-…)'))
    .addHelpText('after', examples('tabcrew messages show m-abc123def4 --state-dir ./state'))
    .action(async (id: string) => {
      const opts = messages.opts();
      process.exitCode = await messageShowCommand(configFrom(opts), id, { json: !!opts.json });
    });

  track(
    program.command('agent-mcp').description("the MCP server one agent runs for its tabcrew tools (started by the agent's Claude Code, not by hand)"),
  ).action(async () => {
    const { runAgentMcp } = await import('./agent-mcp/server.js');
    await runAgentMcp();
  });
  track(
    withNodeOptions(withStateOptions(program.command('nodes').description("the crew's nodes: reachability, tabcrew version, sessions and agents, last error"))),
  )
    .option('--json', JSON_HELP)
    .addHelpText('after', examples('tabcrew nodes --node box1=ssh://dev@box1', 'tabcrew nodes --nodes-file ~/.config/tabcrew/nodes.yaml --json'))
    .action(async (opts: Record<string, unknown>) => {
      process.exitCode = await nodesCommand(configFrom(opts), crewOptionsFrom(opts), { json: !!opts.json });
    });
  track(program.command('dashboard').description('print a one-time link that logs this browser into the dashboard of the running `serve --http`'))
    .addOption(new Option('--state-dir <dir>', 'where the state (and the token) is kept').default(defaultConfig().stateDir).env('TABCREW_STATE_DIR'))
    .addOption(new Option('--http <[host:]port>', 'the server address (default: the running one)').argParser(httpAddress))
    .option('--json', JSON_HELP)
    .addHelpText('after', examples('tabcrew dashboard'))
    .action((opts: Record<string, unknown>) => {
      process.exitCode = dashboardCommand(configFrom(opts), { http: opts.http as string | undefined, json: !!opts.json });
    });

  const key = track(program.command('key').description('the key the state is encrypted with'));
  reportCommand(key, 'rotate', 're-encrypt the state under a new key (crash-safe; run again to finish an interrupted rotation)', keyRotateCommand, {
    terminal: false,
    examples: ['tabcrew key rotate'],
  });

  const state = track(program.command('state').description('the state file itself'));
  reportCommand(state, 'accept-rollback', 'accept an older state as the newest, after tabcrew refused it as a rollback', stateAcceptRollbackCommand, {
    terminal: false,
    examples: ['tabcrew state accept-rollback'],
  });

  const audit = track(program.command('audit').description('the tamper-evident audit log'));
  reportCommand(audit, 'verify', 'check the hash chain; exits 1 naming the first bad record', auditVerifyCommand, {
    examples: ['tabcrew audit verify'],
    terminal: false,
  });
  track(withStateOptions(audit.command('tail').description('the latest audit records, oldest first'), { terminal: false }))
    .option('--agent <agent>', 'only records about this agent')
    .option('--session <session>', 'only records about this session (id)')
    .addOption(new Option('--limit <n>', 'how many records').argParser(positiveInt).default(50))
    .option('--json', 'one JSON record per line')
    .addHelpText('after', examples('tabcrew audit tail --agent Agent_1'))
    .action(async (opts: Record<string, unknown>) => {
      process.exitCode = await auditTailCommand(configFrom(opts), {
        agent: opts.agent as string | undefined,
        session: opts.session as string | undefined,
        limit: opts.limit as number,
        json: !!opts.json,
      });
    });

  const config = track(program.command('config').description('register tabcrew with an MCP client'));
  track(
    config.command('claude-desktop').description("print Claude Desktop's mcpServers entry for tabcrew; --write merges it into the config file (with a backup)"),
  )
    .option('--write', 'merge the entry into the config file, keeping everything else; the old file is copied beside it first')
    .option('--config-file <path>', 'the Claude Desktop config file (default: the one for this platform under $HOME)')
    .option('--force', 'with --write: write the entry even when it could not launch agents (Claude Code, tmux or node not found)')
    .addOption(
      new Option('--claude-path <path>', 'the Claude Code executable the server should use').default(defaultConfig().claudePath).env('TABCREW_CLAUDE_PATH'),
    )
    .option('--json', JSON_HELP)
    .addHelpText('after', examples('tabcrew config claude-desktop', 'tabcrew config claude-desktop --write'))
    .action(async (opts: Record<string, unknown>) => {
      process.exitCode = await configClaudeDesktopCommand(configFrom(opts), {
        write: !!opts.write,
        force: !!opts.force,
        configFile: opts.configFile === undefined ? undefined : resolve(opts.configFile as string),
        json: !!opts.json,
      });
    });
  track(config.command('claude-code').description('print the `claude mcp add` line that registers tabcrew with Claude Code'))
    .addOption(new Option('--scope <scope>', 'claude mcp add scope').choices(['local', 'user', 'project']).default('user'))
    .addOption(
      new Option('--claude-path <path>', 'the Claude Code executable the server should use').default(defaultConfig().claudePath).env('TABCREW_CLAUDE_PATH'),
    )
    .option('--json', JSON_HELP)
    .addOption(
      new Option('--http [[host:]port]', 'register the running `serve --http` (or the one at this address) over HTTP instead of stdio').argParser(httpAddress),
    )
    .addOption(new Option('--state-dir <dir>', 'the state of the HTTP server (its token)').default(defaultConfig().stateDir).env('TABCREW_STATE_DIR'))
    .addHelpText('after', examples('tabcrew config claude-code', 'tabcrew config claude-code --http'))
    .action((opts: Record<string, unknown>) => {
      if (opts.http) {
        process.stdout.write(claudeCodeHttpLine(configFrom(opts), { scope: opts.scope as string, http: opts.http as string | true }) + '\n');
        process.stderr.write(claudeCodeHttpNote(opts.scope as string));
        return;
      }
      process.exitCode = configClaudeCodeCommand(configFrom(opts), { scope: opts.scope as string, json: !!opts.json });
    });
  track(config.command('http').description('the HTTP endpoint of `serve --http` and its bearer token'))
    .addOption(new Option('--state-dir <dir>', 'where the state (and the token) is kept').default(defaultConfig().stateDir).env('TABCREW_STATE_DIR'))
    .addOption(new Option('--http <[host:]port>', 'the address, when no server is running yet').argParser(httpAddress))
    .option('--fingerprint', "print only the SHA-256 fingerprint of the server's TLS certificate (what a front pins)")
    .option('--cert <file>', 'with --fingerprint: the certificate given to serve --tls-cert (default: the self-signed one in the state dir)')
    .option('--json', JSON_HELP)
    .addHelpText('after', examples('tabcrew config http', 'tabcrew config http --fingerprint > box1.sha256'))
    .action((opts: Record<string, unknown>) => {
      if (opts.fingerprint) {
        process.exitCode = fingerprintCommand(configFrom(opts), { certFile: opts.cert as string | undefined, json: !!opts.json });
        return;
      }
      process.exitCode = configHttpCommand(configFrom(opts), { http: opts.http as string | undefined, json: !!opts.json });
    });

  const k8s = track(program.command('k8s').description('run the crew on Kubernetes (docs/kubernetes.md)'));
  track(k8s.command('manifests').description('print the Kubernetes objects of a crew (multi-document YAML for kubectl apply -f -)'))
    .addOption(new Option('--namespace <name>', 'the namespace every object goes in').argParser(dnsLabel('--namespace')).default(K8S.namespace))
    .addOption(new Option('--nodes <n>', `node pods (1 to ${MAX_NODES})`).argParser(nodeCount).default(K8S.nodes))
    .addOption(new Option('--image <ref>', 'the image with node 20+, tabcrew, Claude Code and tmux').argParser(imageRef).default(K8S.image))
    .addOption(
      new Option('--token-secret <name>', "an existing Secret (key `token`) with the nodes' bearer token; default: a new one is generated").argParser(
        dnsLabel('--token-secret', 253),
      ),
    )
    .addOption(
      new Option('--tls-secret <name>', 'the kubernetes.io/tls Secret (tls.crt, tls.key, ca.crt) nodes serve with and the front trusts')
        .argParser(dnsLabel('--tls-secret', 253))
        .default(K8S.tlsSecret),
    )
    .addHelpText('after', examples('tabcrew k8s manifests --namespace crew --nodes 3 --image registry.example.com/tabcrew:1.0 | kubectl apply -f -'))
    .action((opts: Record<string, unknown>) => {
      process.stdout.write(
        manifestsYaml({
          namespace: opts.namespace as string,
          nodes: opts.nodes as number,
          image: opts.image as string,
          tokenSecret: opts.tokenSecret as string | undefined,
          tlsSecret: opts.tlsSecret as string,
          storage: K8S.storage,
        }),
      );
    });
  return program;
}

/** Runs the command line; dist/cli.js (scripts/cli-entry.mjs) calls it from the bundle. */
export async function main(argv: string[], handover?: Handover): Promise<void> {
  // The MCP handshake dist/cli.js answered already, for `serve` to continue from.
  setHandover(handover);
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help, --version and `help <command>` end through here too, with exit code 0.
      if (e.exitCode === 0) process.exit(0);
      // Commander has printed what was wrong; a usage line tells what is right.
      const cmd = failedCommand ?? program;
      const usage =
        cmd === program
          ? 'usage: tabcrew [command] [options]   (tabcrew --help lists the commands; the default is serve)'
          : `usage: ${fullName(cmd)} ${cmd.usage()}   (${fullName(cmd)} --help for the options)`;
      process.stderr.write(usage + '\n');
      process.exit(2);
    }
    process.stderr.write(`tabcrew: ${(e as Error).message}\n`);
    process.exit(1);
  }
}
