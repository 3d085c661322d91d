import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';
import { UserError } from './errors.js';

/*
 * An agent of its own git worktree (create_agent isolation: "worktree"): a checkout of a new
 * branch `tabcrew/<agent>` at `<root>/.tabcrew/worktrees/<agent>`, its cwd. Inside the
 * session root, so the session's trust and boundaries cover it, and in a folder git is told
 * to ignore (.git/info/exclude), so the main checkout and its agents do not see it.
 * Git runs through execFile with an argv: no shell sees a path or a name.
 */

const run = promisify(execFile);

export const WORKTREES_DIR = join('.tabcrew', 'worktrees');
const AGENT_NAME = /^Agent_[0-9]+$/;

async function git(cwd: string, args: string[]): Promise<string> {
  const { stdout } = await run('git', ['-C', cwd, ...args], { encoding: 'utf8', maxBuffer: 8 << 20, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
  return stdout;
}

async function gitOr(cwd: string, args: string[]): Promise<string | undefined> {
  try {
    return (await git(cwd, args)).trim();
  } catch {
    return undefined;
  }
}

export function worktreePath(root: string, agent: string): string {
  return join(root, WORKTREES_DIR, agent);
}

export function branchFor(agent: string): string {
  return `tabcrew/${agent}`;
}

/** Refuses, before anything is created, a root that is not the top of a git work tree with a commit. */
export async function checkGitRoot(root: string): Promise<void> {
  const top = await gitOr(root, ['rev-parse', '--show-toplevel']);
  if (top === undefined) {
    throw new UserError(
      `isolation "worktree" needs a git repository, and the session root ${root} is not in one; nothing was created. Run git init there (and commit), or create the agent without isolation.`,
    );
  }
  if (top !== root) {
    throw new UserError(
      `isolation "worktree" needs the session root to be the top of its git repository; ${root} is inside ${top}. Create the session on ${top}, or create the agent without isolation.`,
    );
  }
  if ((await gitOr(root, ['rev-parse', '--verify', '--quiet', 'HEAD^{commit}'])) === undefined) {
    throw new UserError(
      `isolation "worktree" branches from HEAD, and the repository at ${root} has no commit yet; nothing was created. Commit something first.`,
    );
  }
}

/** Keeps `.tabcrew/` out of the main checkout's `git status` (once per repository). */
async function excludeWorktrees(root: string): Promise<void> {
  const common = (await git(root, ['rev-parse', '--git-common-dir'])).trim();
  const file = join(isAbsolute(common) ? common : join(root, common), 'info', 'exclude');
  const text = await readFile(file, 'utf8').catch(() => '');
  if (text.split('\n').some((l) => l.trim() === '/.tabcrew/')) return;
  await mkdir(join(file, '..'), { recursive: true });
  await appendFile(file, `${text && !text.endsWith('\n') ? '\n' : ''}# tabcrew agents' worktrees (docs/long-running.md)\n/.tabcrew/\n`);
}

/**
 * Creates the agent's worktree on a new branch from HEAD; a branch of that name left by an
 * earlier agent is checked out again rather than overwritten.
 */
export async function addWorktree(root: string, agent: string): Promise<{ path: string; branch: string; base: string; reused_branch: boolean }> {
  if (!AGENT_NAME.test(agent)) throw new Error(`not an agent name: ${agent}`);
  const path = worktreePath(root, agent);
  const branch = branchFor(agent);
  if (existsSync(path))
    throw new UserError(`${path} already exists; nothing was created. Remove it (git worktree remove) or create the agent without isolation.`);
  await excludeWorktrees(root);
  const base = (await gitOr(root, ['symbolic-ref', '--quiet', '--short', 'HEAD'])) ?? (await git(root, ['rev-parse', 'HEAD'])).trim();
  const exists = (await gitOr(root, ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`])) !== undefined;
  try {
    await git(root, exists ? ['worktree', 'add', '--', path, branch] : ['worktree', 'add', '-b', branch, '--', path, 'HEAD']);
  } catch (e) {
    const why = String((e as { stderr?: string }).stderr ?? (e as Error).message).trim();
    throw new UserError(`git could not create the worktree ${path} on branch ${branch}: ${why}. Nothing was created.`);
  }
  return { path, branch, base, reused_branch: exists };
}

export const worktreeStatusSchema = z.object({
  path: z.string(),
  branch: z.string(),
  /** Commits on the branch that its base does not have. */
  commits_ahead: z.number().int().nullable(),
  /** Files `git status` lists as changed or new. */
  dirty_files: z.number().int().nullable(),
  exists: z.boolean(),
});

export type WorktreeStatus = z.infer<typeof worktreeStatusSchema>;

export async function worktreeStatus(w: { path: string; branch: string; base?: string }): Promise<WorktreeStatus> {
  if (!existsSync(w.path)) return { path: w.path, branch: w.branch, commits_ahead: null, dirty_files: null, exists: false };
  const ahead = w.base ? await gitOr(w.path, ['rev-list', '--count', `${w.base}..HEAD`]) : undefined;
  const porcelain = await gitOr(w.path, ['status', '--porcelain', '--untracked-files=all']);
  return {
    path: w.path,
    branch: w.branch,
    commits_ahead: ahead === undefined ? null : Number(ahead),
    dirty_files: porcelain === undefined ? null : porcelain.split('\n').filter(Boolean).length,
    exists: true,
  };
}

/**
 * Removes the worktree (a dirty one only with `force`); the branch stays unless
 * `deleteBranch`. Returns what was done, for the caller's result.
 */
export async function removeWorktree(
  root: string,
  w: { path: string; branch: string },
  opts: { force?: boolean; deleteBranch?: boolean },
): Promise<{ removed: boolean; branch_deleted: boolean }> {
  let removed = false;
  if (existsSync(w.path)) {
    await git(root, ['worktree', 'remove', ...(opts.force ? ['--force'] : []), '--', w.path]);
    removed = true;
  } else {
    await gitOr(root, ['worktree', 'prune']);
  }
  let deleted = false;
  if (opts.deleteBranch) {
    deleted = (await gitOr(root, ['branch', '-D', '--', w.branch])) !== undefined;
  }
  return { removed, branch_deleted: deleted };
}

/** Refuses to remove a worktree with uncommitted work unless forced; the message lists what would be lost. */
export async function checkRemovable(agent: string, w: { path: string; branch: string; base?: string }, force: boolean): Promise<void> {
  if (force) return;
  const s = await worktreeStatus(w);
  if (s.dirty_files) {
    throw new UserError(
      `${agent}'s worktree ${w.path} has ${s.dirty_files} uncommitted file(s); nothing was deleted. Commit them on ${w.branch}, or pass force: true to discard them.`,
    );
  }
}
