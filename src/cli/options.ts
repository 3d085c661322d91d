/**
 * The flags of the tabcrew command line: their parsing, their help headings, and the Config they make.
 */
import { resolve } from 'node:path';
import { Command, Help, InvalidArgumentError, Option } from 'commander';
import { defaultConfig, withResolvedPaths, type Config } from '../config.js';
import { KEY_SOURCES, type KeySource } from '../store/keys.js';
import { parseDuration } from './messages.js';
import { longRunConfig, withLongRunOptions, withPriceOptions } from './long-run-options.js';
import { parseListenAddress } from '../server/http/listen-address.js';
import { tlsChoiceFrom } from '../server/http/tls.js';
import { withStateDirs } from './state-dirs.js';

/** `--http [HOST:]PORT` checked as it is parsed: a bad one is a usage error (exit 2) before anything starts. */
export function httpAddress(value: string): string {
  try {
    parseListenAddress(value);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
  return value;
}

export function httpBindAddress(value: string): string {
  try {
    parseListenAddress('0', value);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
  return value;
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number of at least 1.');
  return n;
}

// --help headings. A command's own flags come first, under the usual heading; the flags every
// command shares follow under theirs. A shared flag a command has no use for is still taken
// (one set of flags fits every command) but left out of its help.
export const OWN_OPTIONS = 'Options:';
export const STATE_OPTIONS = 'Shared options (the same in every command):';
export const SERVER_RULES = 'Rules of the server:';
export const NODE_OPTIONS = 'Nodes of the crew (docs/nodes.md):';
/** Shared flags only the commands that touch tabs or costs use. */
export const TERMINAL_FLAGS = ['--backend', '--tmux-socket', '--runtime-dir', '--claude-path', '--prices-file'];

/** Own options first: commander orders headings by the first option added, and the shared ones are added first. */
export function ownOptionsFirst<T extends Command | Option>(this: Help, unsorted: T[], visible: T[], getGroup: (item: T) => string): Map<string, T[]> {
  const groups = Help.prototype.groupItems.call<Help, [T[], T[], (item: T) => string], Map<string, T[]>>(this, unsorted, visible, getGroup);
  const own = groups.get(OWN_OPTIONS);
  return own ? new Map([[OWN_OPTIONS, own], ...[...groups].filter(([heading]) => heading !== OWN_OPTIONS)]) : groups;
}

/** Hides `flags` from the command's help (they are still taken) and says so in one line. */
export function unlist(cmd: Command, which: (o: Option) => boolean, note: string): Command {
  const hidden = cmd.options.filter(which);
  for (const o of hidden) o.hideHelp();
  return hidden.length ? cmd.addHelpText('after', `\n${wrap(note)}`) : cmd;
}

/** Words to lines of at most `width` characters, as commander wraps its own help. */
export function wrap(text: string, width = 80): string {
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
export function withStateOptions(cmd: Command, o: { terminal?: boolean } = {}): Command {
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
export function withServerOptions(cmd: Command, o: { listRules?: boolean } = {}): Command {
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
export function hostNames(value: string, prev: string[] = []): string[] {
  const names = value.split(',').map((v) => v.trim());
  for (const name of names)
    if (!/^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]+\])$/.test(name))
      throw new InvalidArgumentError(`"${name}" is not a host name: letters, digits, "." and "-" (an IPv6 address in brackets), without a port.`);
  return [...prev, ...names];
}

/** The OS sandbox of agents (claude/sandbox.ts): for the commands that start agents, and doctor. */
export function withSandboxOptions(cmd: Command): Command {
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
export function configFrom(o: Record<string, unknown>): Config {
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
