import { spawn } from 'node:child_process';
import { DRIVER_KEYS, LOCKED_CONFIG, contentFlags, driverOverrides, gitEnv } from './lockdown.js';

/*
 * The one way tabcrew runs git. An argv, never a shell; an environment of PATH, HOME, a temp
 * dir and the locale only; and every setting through which a repository could make git run a program
 * switched off on the command line (lockdown.ts). Callers say what the call is for; a
 * failure names that, the subcommand and git's own message, never the environment.
 */

export interface GitOptions {
  /** The repository (or a directory inside it) git runs in (`git -C`). */
  cwd: string;
  /** What the call is for, as the end of "git could not …": "read the worktree's status". */
  purpose: string;
  timeoutMs?: number;
  /** Written to git's stdin (closed when absent). */
  input?: string;
  /** Exit codes that are answers, not failures (`rev-parse --verify --quiet` says 1 for "no"). */
  okCodes?: readonly number[];
}

export interface GitResult {
  stdout: string;
  stderr: string;
  code: number;
}

export class GitError extends Error {
  override name = 'GitError';
  constructor(
    message: string,
    readonly purpose: string,
    readonly code: number | null,
    readonly stderr: string,
  ) {
    super(message);
  }
}

const DEFAULT_TIMEOUT_MS = 60_000;
const MAX_OUTPUT = 8 << 20;

function lockedArgs(config: readonly (readonly [string, string])[]): string[] {
  return config.flatMap(([k, v]) => ['-c', `${k}=${v}`]);
}

/** Runs git once, with the lockdown applied; `extra` are the per-repository driver overrides. */
function spawnGit(args: readonly string[], opts: GitOptions, extra: readonly (readonly [string, string])[], deadline: number): Promise<GitResult> {
  const [sub = '', ...rest] = args;
  const argv = ['--no-pager', ...lockedArgs(LOCKED_CONFIG), ...lockedArgs(extra), '-C', opts.cwd, sub, ...contentFlags(sub), ...rest];
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const what = `git ${sub}`;
  return new Promise((resolve, reject) => {
    const child = spawn('git', argv, {
      env: gitEnv(process.env),
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      shell: false,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    let stopped: string | undefined;
    const stop = (why: string) => {
      stopped ??= why;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => stop(`took longer than ${timeoutMs} ms and was stopped`), Math.max(1, deadline - Date.now()));
    const collect = (into: Buffer[]) => (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_OUTPUT) return stop(`wrote more than ${MAX_OUTPUT} bytes and was stopped`);
      into.push(chunk);
    };
    child.stdout!.on('data', collect(out));
    child.stderr!.on('data', collect(err));
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => undefined); // git may exit before reading it all
      child.stdin!.end(opts.input);
    }
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why = e.code === 'ENOENT' ? 'git is not installed or not on PATH; install git' : e.message;
      reject(new GitError(`git could not ${opts.purpose}: ${why}.`, opts.purpose, null, ''));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (stopped) return reject(new GitError(`git could not ${opts.purpose}: ${what} in ${opts.cwd} ${stopped}.`, opts.purpose, code, stderr));
      if (code === 0 || (code !== null && opts.okCodes?.includes(code))) return resolve({ stdout, stderr, code });
      const said = stderr.trim().split('\n').slice(-3).join(' ').trim();
      reject(
        new GitError(
          `git could not ${opts.purpose}: ${what} in ${opts.cwd} exited ${code ?? 'on a signal'}${said ? `: ${said}` : ''}`,
          opts.purpose,
          code,
          stderr,
        ),
      );
    });
  });
}

/** The filter and merge driver names defined for this repository (every config scope). */
async function driverNames(opts: GitOptions, deadline: number): Promise<string[]> {
  const r = await spawnGit(['config', '--null', '--name-only', '--get-regexp', DRIVER_KEYS.source], { ...opts, input: undefined, okCodes: [1] }, [], deadline);
  return r.stdout.split('\0').filter(Boolean);
}

/**
 * Runs `git <args>` in `cwd`. Resolves with its output when it exits 0 (or a code in
 * okCodes); rejects with a GitError naming the purpose otherwise. Filter and merge drivers
 * the repository defines are read first and emptied for this call (lockdown.ts); timeoutMs
 * (default a minute) covers both.
 */
export async function runGit(args: readonly string[], opts: GitOptions): Promise<GitResult> {
  // The first word must be the subcommand: a global option there (-c, --exec-path) would come
  // after the lockdown and undo it.
  if (!/^[a-z][a-z0-9-]*$/.test(args[0] ?? '')) throw new Error(`runGit needs a git subcommand first, not ${JSON.stringify(args[0])}`);
  const deadline = Date.now() + (opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  let drivers: [string, string][];
  try {
    drivers = driverOverrides(await driverNames(opts, deadline));
  } catch (e) {
    if (e instanceof GitError) throw e;
    throw new GitError(
      `git could not ${opts.purpose}: ${(e as Error).message}; nothing was run. Remove that driver from the repository's config.`,
      opts.purpose,
      null,
      '',
    );
  }
  return spawnGit(args, opts, drivers, deadline);
}
