/**
 * The host's side of an agent's sandbox (rules in sandbox.ts): which sandbox program this
 * machine has and whether it works, which system folders exist, where the programs an
 * agent runs are, and the folders a rule names that must exist before the sandbox starts.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readlinkSync, realpathSync } from 'node:fs';
import { mkdir, open, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { findOnPath } from '../util/find-on-path.js';
import { CLAUDE_PRIVATE_DIRS, CLAUDE_PRIVATE_FILES, LINUX_SYSTEM, MACOS_SYSTEM, type SandboxInput, type SandboxKind, type SandboxMode } from './sandbox.js';
import { encodeProjectDir } from './transcript.js';

export interface SandboxChoice {
  /** The sandbox agents run in; absent: none. */
  kind?: SandboxKind;
  program?: string;
  /** One line: which sandbox, or why none. */
  summary: string;
  /** `on` without a working sandbox: agents may not start; what is wrong and the fix. */
  refusal?: string;
}

export const BWRAP_FIX =
  'install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap) and allow unprivileged user namespaces ' +
  '(sysctl kernel.unprivileged_userns_clone=1 on Debian, or kernel.apparmor_restrict_unprivileged_userns=0 on Ubuntu 24.04+, user.max_user_namespaces > 0)';

/** The sandbox program this platform uses. */
export function sandboxKindFor(platform: NodeJS.Platform = process.platform): SandboxKind | undefined {
  return platform === 'linux' ? 'bubblewrap' : platform === 'darwin' ? 'seatbelt' : undefined;
}

/** What is wrong with running `program` as this platform's sandbox, or undefined when it works. */
export function sandboxProblem(kind: SandboxKind, program: string | undefined): string | undefined {
  const name = kind === 'bubblewrap' ? 'bwrap' : 'sandbox-exec';
  if (!program || !existsSync(program)) return `${kind} (${program ?? name}) is not installed or not on PATH`;
  const args =
    kind === 'bubblewrap'
      ? ['--ro-bind', '/', '/', '--unshare-pid', '--proc', '/proc', '--dev', '/dev', '--die-with-parent', '--', 'true']
      : ['-p', '(version 1)(allow default)', '/usr/bin/true'];
  try {
    execFileSync(program, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
    return undefined;
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    const why = err.stderr?.toString().trim().split('\n')[0] || err.message;
    return kind === 'bubblewrap'
      ? `${program} cannot create a sandbox here (${why}); most often user namespaces are not allowed`
      : `${program} cannot create a sandbox here (${why})`;
  }
}

const choices = new Map<string, SandboxChoice>();

/**
 * Which sandbox agents get, decided once per program: `off` none; `auto` the platform's
 * when it works; `on` the platform's, or a refusal that says what to install.
 */
export function chooseSandbox(mode: SandboxMode, opts: { program?: string; env?: NodeJS.ProcessEnv; platform?: NodeJS.Platform } = {}): SandboxChoice {
  if (mode === 'off') return { summary: 'sandbox off (--sandbox off): agents see the whole file system the user can' };
  const kind = sandboxKindFor(opts.platform);
  if (!kind) {
    const why = `no sandbox on ${opts.platform ?? process.platform}`;
    return mode === 'on'
      ? { summary: why, refusal: `--sandbox on: tabcrew has ${why}; run with --sandbox auto or off.` }
      : { summary: `${why}: agents run without one` };
  }
  const program = opts.program ?? findOnPath(kind === 'bubblewrap' ? 'bwrap' : 'sandbox-exec', opts.env?.PATH ?? process.env.PATH) ?? undefined;
  const key = `${mode}\0${kind}\0${program ?? ''}`;
  const known = choices.get(key);
  if (known) return known;
  const problem = sandboxProblem(kind, program ?? (kind === 'seatbelt' ? '/usr/bin/sandbox-exec' : undefined));
  const fix = kind === 'bubblewrap' ? BWRAP_FIX : 'sandbox-exec comes with macOS (/usr/bin/sandbox-exec); check that it is there and runs';
  const choice: SandboxChoice = problem
    ? mode === 'on'
      ? { summary: `sandbox on, but ${problem}`, refusal: `--sandbox on: ${problem}, so no agent may start. Fix: ${fix}; or run with --sandbox auto.` }
      : { summary: `sandbox auto: none, ${problem} (fix: ${fix})` }
    : { kind, program: program ?? '/usr/bin/sandbox-exec', summary: `sandbox ${mode}: every agent runs in ${kind} (${program ?? '/usr/bin/sandbox-exec'})` };
  choices.set(key, choice);
  return choice;
}

const realOr = (p: string): string => {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
};

/** The top-level system paths that exist here; a symlink keeps its target (/bin → usr/bin). */
export function systemPaths(kind: SandboxKind): SandboxInput['system'] {
  const out: SandboxInput['system'] = [];
  for (const p of kind === 'bubblewrap' ? LINUX_SYSTEM : MACOS_SYSTEM) {
    try {
      const st = lstatSync(p);
      if (st.isSymbolicLink()) out.push(kind === 'bubblewrap' ? { path: p, target: readlinkSync(p) } : { path: p });
      else if (st.isDirectory()) out.push({ path: p });
    } catch {
      // not on this host
    }
  }
  // systemd-resolved: /etc/resolv.conf leads into /run, which is not shown otherwise.
  const resolv = realOr('/etc/resolv.conf');
  if (resolv !== '/etc/resolv.conf' && existsSync(resolv) && !out.some((s) => resolv.startsWith(s.path + '/'))) out.push({ path: dirname(resolv) });
  return out;
}

/** Folders of node, Claude Code and tabcrew's package (with its node_modules where that is a link). */
export function programPaths(claudePath: string, packageRoot: string, nodePath = process.execPath): string[] {
  const out = new Set<string>();
  const node = realOr(nodePath);
  // A node under a prefix (nvm, /usr/local): its bin/ and lib/ (global packages).
  out.add(dirname(dirname(node)));
  const claude = realOr(claudePath.includes('/') ? claudePath : (findOnPath(claudePath) ?? claudePath));
  if (claude.startsWith('/')) {
    // The package it belongs to (npm: …/@anthropic-ai/claude-code/bin/claude.exe), else the
    // program file alone: its folder may be HOME or a root, which the sandbox keeps out of sight.
    let dir = dirname(claude);
    for (let i = 0; i < 3 && !existsSync(join(dir, 'package.json')); i++) dir = dirname(dir);
    out.add(existsSync(join(dir, 'package.json')) ? dir : claude);
  }
  out.add(realOr(packageRoot));
  const modules = join(packageRoot, 'node_modules');
  if (existsSync(modules)) out.add(realOr(modules));
  return [...out].filter((p) => p !== '/' && p !== '/usr');
}

/**
 * Creates what the rules bind that Claude Code would otherwise create itself inside the
 * sandbox (too late to be bound): its config dir, this agent's transcript and
 * file-history folders, and the private files shown empty.
 */
export async function prepareSandboxPaths(input: SandboxInput): Promise<void> {
  const cwd = input.worktree ?? input.root;
  for (const d of [input.claudeConfigDir, ...CLAUDE_PRIVATE_DIRS.map((x) => join(input.claudeConfigDir, x))]) await mkdir(d, { recursive: true, mode: 0o700 });
  await mkdir(join(input.claudeConfigDir, 'projects', encodeProjectDir(cwd)), { recursive: true, mode: 0o700 });
  await mkdir(join(input.claudeConfigDir, 'file-history', input.claudeSessionId), { recursive: true, mode: 0o700 });
  for (const f of CLAUDE_PRIVATE_FILES) await (await open(join(input.claudeConfigDir, f), 'a', 0o600)).close();
  await mkdir(input.sharedDir, { recursive: true, mode: 0o700 });
}

/**
 * A HOME that never ran Claude Code has no config file; the one Claude Code would write
 * inside the sandbox would stay in its private HOME. So an empty one (`{}`, which Claude
 * Code reads as "nothing set yet") is made first, for the sandbox to show and Claude Code
 * to fill. Never replaces a file.
 */
export async function ensureClaudeConfigFile(file: string): Promise<void> {
  await writeFile(file, '{}\n', { mode: 0o600, flag: 'wx' }).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'EEXIST') throw e;
  });
}

export { realOr as realpathOr };
