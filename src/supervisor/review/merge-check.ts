import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { git, gitOr } from './git-diff.js';

/*
 * `serve --merge-check "CMD"`: the person's own command (like an npm script, it is run by
 * /bin/sh -c; it is operator configuration, never agent text), run in a temporary worktree
 * of the merged commit before the base branch moves. The command runs the agent's code, so it
 * gets a small environment: where programs are, HOME, a temp dir, the locale and CI=1 —
 * not the state key, API keys or tokens tabcrew itself holds.
 */

export interface CheckResult {
  command: string;
  passed: boolean;
  exit_code: number | null;
  /** The last lines the command wrote (stdout and stderr together). */
  tail: string;
  ms: number;
  timed_out?: true;
}

const PASSED_ENV = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TERM', 'USER', 'LOGNAME', 'SHELL'];
const KEEP_BYTES = 64 * 1024;
const TAIL_LINES = 40;

export function checkEnv(from: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of PASSED_ENV) if (from[name] !== undefined) env[name] = from[name];
  return { ...env, CI: '1', TABCREW_MERGE_CHECK: '1' };
}

function runShell(
  command: string,
  cwd: string,
  timeoutMs: number,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; output: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    // Its own process group: a timeout stops whatever the command started, too.
    const child = spawn('/bin/sh', ['-c', command], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let kept = Buffer.alloc(0);
    const keep = (chunk: Buffer) => {
      kept = Buffer.concat([kept, chunk]);
      if (kept.length > KEEP_BYTES) kept = kept.subarray(kept.length - KEEP_BYTES);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: null, output: `could not start /bin/sh: ${e.message}`, timedOut });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output: kept.toString('utf8'), timedOut });
    });
  });
}

/** Checks out `commit` in a temporary worktree of `root`, runs the command there, removes the worktree. */
export async function runMergeCheck(root: string, commit: string, command: string, timeoutMs: number, env: NodeJS.ProcessEnv): Promise<CheckResult> {
  const started = Date.now();
  const parent = await mkdtemp(join(tmpdir(), 'tabcrew-merge-check-'));
  const dir = join(parent, 'tree');
  try {
    await git(root, ['worktree', 'add', '--detach', '--', dir, commit], 'check out the merged tree for --merge-check');
    const r = await runShell(command, dir, timeoutMs, checkEnv(env));
    const lines = r.output.replace(/\s+$/u, '').split('\n');
    return {
      command,
      passed: r.code === 0 && !r.timedOut,
      exit_code: r.code,
      tail: lines.slice(-TAIL_LINES).join('\n') + (r.timedOut ? `\n(stopped after ${Math.round(timeoutMs / 1000)} s)` : ''),
      ms: Date.now() - started,
      ...(r.timedOut ? { timed_out: true as const } : {}),
    };
  } finally {
    await gitOr(root, ['worktree', 'remove', '--force', '--', dir], 'remove the --merge-check worktree');
    await rm(parent, { recursive: true, force: true });
    await gitOr(root, ['worktree', 'prune'], 'prune worktrees that are gone');
  }
}
