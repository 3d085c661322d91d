import { constants, existsSync } from 'node:fs';
import { lstat, mkdir, open } from 'node:fs/promises';
import { isAbsolute, join, sep } from 'node:path';
import { z } from 'zod';
import { GitError, runGit } from '../git/run-git.js';
import { UserError } from './errors.js';

/*
 * An agent of its own git worktree (create_agent isolation: "worktree"): a checkout of a new
 * branch `tabcrew/<agent>` at `<root>/.tabcrew/worktrees/<agent>`, its cwd. Inside the
 * session root, so the session's trust and boundaries cover it, and in a folder git is told
 * to ignore (.git/info/exclude), so the main checkout and its agents do not see it.
 * Git runs through git/run-git.ts: an argv, a minimal environment, nothing the repository
 * configures (hooks, fsmonitor, filters) runs.
 */

export const WORKTREES_DIR = join('.tabcrew', 'worktrees');
const AGENT_NAME = /^Agent_[0-9]+$/;

async function git(cwd: string, args: string[], purpose: string, timeoutMs?: number): Promise<string> {
  return (await runGit(args, { cwd, purpose, timeoutMs })).stdout;
}

/** The trimmed output, or undefined when git says no (a failure that is an answer). */
async function gitOr(cwd: string, args: string[], purpose: string): Promise<string | undefined> {
  try {
    return (await git(cwd, args, purpose)).trim();
  } catch (e) {
    if (e instanceof GitError) return undefined;
    throw e;
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
  const top = await gitOr(root, ['rev-parse', '--show-toplevel'], 'find the top of the repository');
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
  if ((await gitOr(root, ['rev-parse', '--verify', '--quiet', 'HEAD^{commit}'], 'find the commit at HEAD')) === undefined) {
    throw new UserError(
      `isolation "worktree" branches from HEAD, and the repository at ${root} has no commit yet; nothing was created. Commit something first.`,
    );
  }
}

const lstatOf = (p: string) => lstat(p).catch(() => undefined);

/**
 * Refuses a `.tabcrew` or `.tabcrew/worktrees` that is a symbolic link (or not a folder):
 * the worktree would be made wherever the link points, outside the session root, its
 * boundaries and its trust.
 */
async function checkWorktreesDir(root: string): Promise<void> {
  let dir = root;
  for (const part of WORKTREES_DIR.split(sep)) {
    dir = join(dir, part);
    const st = await lstatOf(dir);
    if (!st) return; // git creates the rest, as plain folders
    if (st.isSymbolicLink() || !st.isDirectory()) {
      throw new UserError(
        `${dir} is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a folder'}; tabcrew keeps agents' worktrees in a plain folder inside the session root, so nothing was created. Remove ${dir} and create the agent again, or create it without isolation.`,
      );
    }
  }
}

function noWriteThroughLink(path: string, plain: 'folder' | 'file'): UserError {
  return new UserError(
    `${path} is a symbolic link, and tabcrew does not write through links; nothing was created. Replace it with a plain ${plain} (or add the line /.tabcrew/ to the exclude file it leads to, then remove the link), or create the agent without isolation.`,
  );
}

/**
 * Keeps `.tabcrew/` out of the main checkout's `git status` (once per repository). Never
 * writes through a symbolic link: an agent could point info/exclude at any file of the user's.
 */
async function excludeWorktrees(root: string): Promise<void> {
  const common = (await git(root, ['rev-parse', '--git-common-dir'], "find the repository's git folder")).trim();
  const info = join(isAbsolute(common) ? common : join(root, common), 'info');
  const file = join(info, 'exclude');
  if ((await lstatOf(info))?.isSymbolicLink()) throw noWriteThroughLink(info, 'folder');
  await mkdir(info, { recursive: true });
  // O_NOFOLLOW: the kernel refuses a link in the file's place (ELOOP) rather than following it.
  const fd = await open(file, constants.O_RDWR | constants.O_CREAT | constants.O_APPEND | constants.O_NOFOLLOW, 0o644).catch((e: NodeJS.ErrnoException) => {
    throw e.code === 'ELOOP' ? noWriteThroughLink(file, 'file') : e;
  });
  try {
    const text = await fd.readFile('utf8');
    if (text.split('\n').some((l) => l.trim() === '/.tabcrew/')) return;
    await fd.write(`${text && !text.endsWith('\n') ? '\n' : ''}# tabcrew agents' worktrees (docs/long-running.md)\n/.tabcrew/\n`);
  } finally {
    await fd.close();
  }
}

/**
 * Creates the agent's worktree on a new branch from HEAD; a branch of that name left by an
 * earlier agent is checked out again rather than overwritten.
 */
export async function addWorktree(root: string, agent: string): Promise<{ path: string; branch: string; base: string; reused_branch: boolean }> {
  if (!AGENT_NAME.test(agent)) throw new Error(`not an agent name: ${agent}`);
  const path = worktreePath(root, agent);
  const branch = branchFor(agent);
  if (await lstatOf(path))
    throw new UserError(`${path} already exists; nothing was created. Remove it (git worktree remove) or create the agent without isolation.`);
  await checkWorktreesDir(root);
  await excludeWorktrees(root);
  const base =
    (await gitOr(root, ['symbolic-ref', '--quiet', '--short', 'HEAD'], 'read the branch at HEAD')) ??
    (await git(root, ['rev-parse', 'HEAD'], 'read the commit at HEAD')).trim();
  const exists = (await gitOr(root, ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`], `look for the branch ${branch}`)) !== undefined;
  try {
    await git(
      root,
      exists ? ['worktree', 'add', '--', path, branch] : ['worktree', 'add', '-b', branch, '--', path, 'HEAD'],
      'create the worktree',
      10 * 60_000,
    );
  } catch (e) {
    if (!(e instanceof GitError)) throw e;
    const why = e.stderr.trim() || e.message;
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
  const ahead = w.base ? await gitOr(w.path, ['rev-list', '--count', `${w.base}..HEAD`], 'count the commits of the worktree') : undefined;
  const porcelain = await gitOr(w.path, ['status', '--porcelain', '--untracked-files=all'], "read the worktree's status");
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
    await git(root, ['worktree', 'remove', ...(opts.force ? ['--force'] : []), '--', w.path], 'remove the worktree');
    removed = true;
  } else {
    await gitOr(root, ['worktree', 'prune'], 'prune worktrees that are gone');
  }
  let deleted = false;
  if (opts.deleteBranch) {
    deleted = (await gitOr(root, ['branch', '-D', '--', w.branch], `delete the branch ${w.branch}`)) !== undefined;
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
