/**
 * What an agent's whole Claude Code process tree may see of the file system, as one
 * ordered rule list that both platform sandboxes are generated from: bubblewrap on Linux
 * (bwrapArgv, below) and Seatbelt on macOS (sandbox-seatbelt.ts). Pure: the host's facts
 * (which system folders exist, where node and Claude Code are) are looked up by
 * sandbox-host.ts and passed in.
 *
 * The rule list is an allow list: the sandbox starts from nothing, and shows
 *  1. the system, read-only (/usr, /etc, /bin, /lib…: never /home, /root, /tmp, /mnt, /srv,
 *     /opt or any other top-level folder where projects live);
 *  2. the programs the agent runs, read-only: node, Claude Code, tabcrew's package;
 *  3. HOME as an empty private folder, with Claude Code's own config shown read-write in it
 *     (~/.claude.json, ~/.claude), except the parts that hold other projects' data
 *     (projects/, file-history/, todos/, …), which are empty but for this agent's own;
 *  4. a private, empty /tmp (and /var/tmp);
 *  5. the agent's root read-write, or, for a worktree agent, its worktree and the
 *     repository's .git read-write and the root read-only; for a read-only role
 *     (claude/roles.ts) the root and worktree read-only, and .git too;
 *  6. of tabcrew's runtime dir, this agent's own folder (read-write, but its settings file
 *     with the permission rules read-only) and the shared folder (read-only: the boundaries
 *     file and the supervisor's agent socket);
 *  7. tabcrew's state dir, log dir, runtime dir and key file hidden (empty) wherever an
 *     earlier rule would have shown them;
 *  8. what the person chose to share (--sandbox-allow, sandbox_extra_paths).
 * Nothing else: other sessions' roots — including sessions created after the agent
 * started — other agents' runtime folders and worktrees, tabcrew's state, logs and key.
 *
 * Order decides: a rule applies to its path and everything below it, and a deeper path's
 * rule overrides a shallower one ("the deepest rule for a path decides"). bubblewrap
 * mounts in list order and Seatbelt lets the last matching rule win, so the list is
 * sorted by depth and both read it the same way.
 */
import { isAbsolute, join, normalize, sep } from 'node:path';
import { encodeProjectDir } from './transcript.js';

/** The settings file of an agent's launch (hooks, permission rules), in its runtime folder. */
export const AGENT_SETTINGS_FILE = 'settings.json';

export type SandboxMode = 'off' | 'auto' | 'on';
export const SANDBOX_MODES: readonly SandboxMode[] = ['off', 'auto', 'on'];
export type SandboxKind = 'bubblewrap' | 'seatbelt';

export type SandboxAccess = 'read' | 'write' | 'empty' | 'link';

export interface SandboxRule {
  /** read / write: shown as on the host; empty: a private empty folder (a file: empty, writes lost); link: a symlink to `target`. */
  access: SandboxAccess;
  path: string;
  /** For `link`: what the link points to (as the host's link does). */
  target?: string;
  /** For `empty`: the path is a file, not a folder. */
  file?: boolean;
  /** Why the rule is there, for status and docs. */
  why: string;
}

export interface SandboxRules {
  /** Where Claude Code starts. */
  cwd: string;
  rules: SandboxRule[];
}

/** A path the person chose to share with the agent; read-only unless `write`. */
export interface SharedPath {
  path: string;
  write: boolean;
}

export interface SandboxInput {
  /** The session root (realpath). */
  root: string;
  /** The agent's own worktree (realpath), if it has one; then root is shown read-only. */
  worktree?: string;
  /** The repository's git folder that a worktree's commits write to (root/.git). */
  gitCommonDir?: string;
  claudeSessionId: string;
  /** A read-only role (claude/roles.ts): its root (and worktree) shown read-only. */
  readOnly?: boolean;
  home: string;
  /** $CLAUDE_CONFIG_DIR or ~/.claude. */
  claudeConfigDir: string;
  /** ~/.claude.json ($CLAUDE_CONFIG_DIR/.claude.json when that is set); must exist (a file is bound). */
  claudeConfigFile?: string;
  /** This agent's runtime folder (settings, hook spool, permission requests, secret). */
  agentDir: string;
  /** The runtime dir's folder every agent may read: the boundaries file and the agent socket. */
  sharedDir: string;
  /** tabcrew's own folders and files: hidden wherever another rule would show them. */
  runtimeDir: string;
  stateDir: string;
  logDir: string;
  keyFile?: string;
  /** The tmux server's socket folder: whoever reaches it can type into every tab. */
  tmuxDir?: string;
  /** Top-level system paths that exist on this host; `target` when the entry is a symlink (/bin → usr/bin). */
  system: { path: string; target?: string }[];
  /** Folders of the programs the agent runs (node, Claude Code, tabcrew), read-only. */
  programs: string[];
  shared: SharedPath[];
}

/**
 * Folders of Claude Code's config dir that hold every project's data (transcripts, edited
 * files' backups, todos, plans, shell snapshots, debug logs): each is shown empty, with
 * this agent's own part bound back. Files: shown empty.
 */
export const CLAUDE_PRIVATE_DIRS = [
  'projects',
  'sessions',
  'file-history',
  'todos',
  'plans',
  'shell-snapshots',
  'session-env',
  'debug',
  'paste-cache',
  'image-cache',
];
export const CLAUDE_PRIVATE_FILES = ['history.jsonl'];

/**
 * Top-level folders that are the system on Linux: programs, libraries, /etc. Not /opt:
 * people keep projects there too, and a folder shown here shows every session root in it.
 */
export const LINUX_SYSTEM = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc', '/nix', '/sys'];
/** The same on macOS (/etc, /tmp and /var are links into /private). */
export const MACOS_SYSTEM = ['/usr', '/bin', '/sbin', '/System', '/Library', '/Applications', '/opt', '/nix', '/private/etc', '/dev'];

const depth = (p: string): number => (p === sep ? 0 : p.split(sep).length - 1);

function checkPath(p: string, what: string): string {
  if (!isAbsolute(p)) throw new Error(`${what} ${JSON.stringify(p)} is not an absolute path`);
  if (/[\u0000-\u001f\u007f]/.test(p)) throw new Error(`${what} ${JSON.stringify(p)} contains a control character; a sandbox rule cannot name it`);
  const n = normalize(p);
  return n.length > 1 && n.endsWith(sep) ? n.slice(0, -1) : n;
}

/** `inner` is `outer` or lies below it. */
export function isWithin(outer: string, inner: string): boolean {
  return inner === outer || outer === sep || inner.startsWith(outer + sep);
}

/** The rule list for one agent (see the header for what it shows and why). */
export function sandboxRules(input: SandboxInput): SandboxRules {
  const rules: SandboxRule[] = [];
  const add = (access: SandboxAccess, path: string, why: string, extra: Partial<SandboxRule> = {}) =>
    rules.push({ access, path: checkPath(path, why), why, ...extra });

  for (const s of input.system) {
    if (s.target !== undefined) add('link', s.path, 'system', { target: s.target });
    else add('read', s.path, 'system');
  }
  for (const p of input.programs) add('read', p, 'program');

  add('empty', input.home, 'home');
  add('write', input.claudeConfigDir, 'claude config');
  if (input.claudeConfigFile) add('write', input.claudeConfigFile, 'claude config');
  for (const d of CLAUDE_PRIVATE_DIRS) add('empty', join(input.claudeConfigDir, d), 'other projects of claude');
  for (const f of CLAUDE_PRIVATE_FILES) add('empty', join(input.claudeConfigDir, f), 'other projects of claude', { file: true });
  const cwd = input.worktree ?? input.root;
  add('write', join(input.claudeConfigDir, 'projects', encodeProjectDir(cwd)), 'own conversation');
  add('write', join(input.claudeConfigDir, 'file-history', input.claudeSessionId), 'own conversation');

  add('empty', '/tmp', 'private tmp');
  add('empty', '/var/tmp', 'private tmp');

  // A read-only role reads its work and writes nothing of it: no bind a command could write through.
  const work: SandboxAccess = input.readOnly ? 'read' : 'write';
  if (input.worktree) {
    add('read', input.root, 'session root');
    if (input.gitCommonDir && !input.readOnly) add('write', input.gitCommonDir, 'git of own worktree');
    add(work, input.worktree, 'own worktree');
  } else {
    add(work, input.root, 'session root');
  }

  for (const s of input.shared) add(s.write ? 'write' : 'read', s.path, 'shared by the person');

  // tabcrew's own: hidden wherever a rule above shows them (its package holds state/ and logs/ by default).
  add('empty', input.runtimeDir, 'tabcrew');
  add('empty', input.stateDir, 'tabcrew');
  add('empty', input.logDir, 'tabcrew');
  if (input.tmuxDir) add('empty', input.tmuxDir, 'terminal');
  if (input.keyFile) add('empty', input.keyFile, 'tabcrew', { file: true });
  add('read', input.sharedDir, 'tabcrew agent socket');
  add('write', input.agentDir, 'own runtime folder');
  // Its permission rules: Claude Code may read them again while it runs, and the agent must not rewrite them.
  add('read', join(input.agentDir, AGENT_SETTINGS_FILE), 'own settings');

  return { cwd: checkPath(cwd, 'working directory'), rules: ordered(rules) };
}

/**
 * Deeper paths after shallower ones (stable otherwise); of two rules for one path the
 * later wins, except that tabcrew's own files stay hidden whatever else names them.
 */
function ordered(rules: SandboxRule[]): SandboxRule[] {
  const byPath = new Map<string, SandboxRule>();
  for (const r of rules) {
    const had = byPath.get(r.path);
    if (had && had.why === 'tabcrew' && r.why !== 'own runtime folder' && r.why !== 'tabcrew agent socket') continue;
    byPath.delete(r.path);
    byPath.set(r.path, r);
  }
  const list = [...byPath.values()];
  return list
    .map((r, i) => ({ r, i }))
    .sort((a, b) => depth(a.r.path) - depth(b.r.path) || a.i - b.i)
    .map(({ r }) => r);
}

/**
 * What a person may share: an absolute, existing path (checked by the caller), not inside
 * tabcrew's own folders. `DIR:rw` shares it read-write.
 */
export function parseSharedPath(spec: string): SharedPath {
  const write = spec.endsWith(':rw');
  const path = write ? spec.slice(0, -3) : spec.endsWith(':ro') ? spec.slice(0, -3) : spec;
  return { path: checkPath(path, 'shared path'), write };
}

/** Why a shared path may not be shared, or undefined. */
export function sharedPathProblem(p: string, own: { stateDir: string; logDir: string; runtimeDir: string; keyFile?: string }): string | undefined {
  for (const [what, dir] of [
    ['state dir', own.stateDir],
    ['log dir', own.logDir],
    ['runtime dir', own.runtimeDir],
    ['key file', own.keyFile],
  ] as const) {
    if (dir && isWithin(dir, p)) return `${p} lies in tabcrew's ${what} (${dir}), which no agent may see; share another path.`;
  }
  return undefined;
}

/** The paths of a rule list by access, for status; the system's folders and the programs' are left out. */
export function sandboxPaths(r: SandboxRules): { read: string[]; write: string[]; hidden: string[] } {
  const own = r.rules.filter((x) => x.why !== 'system' && x.why !== 'program');
  const of = (a: SandboxAccess) => own.filter((x) => x.access === a).map((x) => x.path);
  return { read: of('read'), write: of('write'), hidden: of('empty') };
}

/**
 * bubblewrap's argv for `command` inside the rules: a new mount namespace holding only
 * what the rules show, its own PID and IPC namespaces (no other process is visible, so
 * /proc/<pid>/root of another agent cannot be walked), the network shared (the model API),
 * and killed with the terminal's process. No --new-session: Claude Code needs its
 * terminal as its controlling terminal (window size, job control).
 */
export function bwrapArgv(program: string, r: SandboxRules, command: readonly string[]): string[] {
  const argv = [program, '--die-with-parent', '--unshare-pid', '--unshare-ipc', '--share-net', '--proc', '/proc', '--dev', '/dev'];
  for (const rule of r.rules) {
    switch (rule.access) {
      case 'read':
        argv.push('--ro-bind', rule.path, rule.path);
        break;
      case 'write':
        argv.push('--bind', rule.path, rule.path);
        break;
      case 'empty':
        // A file is shown as /dev/null: reads find it empty, writes are lost.
        if (rule.file) argv.push('--bind', '/dev/null', rule.path);
        else argv.push('--tmpfs', rule.path);
        break;
      case 'link':
        argv.push('--symlink', rule.target!, rule.path);
        break;
    }
  }
  argv.push('--chdir', r.cwd, '--', ...command);
  return argv;
}
