import { existsSync } from 'node:fs';
import type { AgentRecord, SessionRecord } from '../../store/types.js';
import { UserError } from '../errors.js';
import { changesBetween, changesSince, cutPatch, dirtyTracked, git, gitOr, literal, patchSince, untrackedFiles } from './git-diff.js';
import { filesWrittenBy } from './hook-files.js';

/*
 * What an agent changed (get_agent_changes): for a worktree agent, its branch and worktree
 * against the point the branch left the session's base branch; for one that shares the
 * session root, the files its hooks say it wrote, with their diff against HEAD.
 */

export const DEFAULT_MAX_BYTES = 256 * 1024;

export interface FileChange {
  path: string;
  status: string;
  added: number | null;
  removed: number | null;
  /** On the branch (committed); false: only in the working tree. */
  committed: boolean;
  /** When the agent's hooks first recorded a write to it (agents without a worktree). */
  since?: string;
}

export interface AgentChanges {
  agent: string;
  session_id: string;
  isolation: 'worktree' | 'none';
  base_branch: string | null;
  base_commit: string;
  /** Where the agent's branch left the base (worktree agents). */
  merge_base?: string;
  branch?: string;
  branch_commit?: string;
  commits_ahead?: number;
  commits_behind?: number;
  files: FileChange[];
  uncommitted: string[];
  attributed_by?: 'hooks';
  patch?: string;
  truncated?: boolean;
  note?: string;
}

export interface ChangesOptions {
  patch?: boolean;
  path?: string;
  max_bytes?: number;
}

const COMMIT_ID = /^[0-9a-f]{40,64}$/u;

export async function commitOf(cwd: string, ref: string): Promise<string | undefined> {
  return gitOr(cwd, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`], `find ${ref}`);
}

/** The branch the root has checked out, or undefined when its HEAD is detached. */
export async function checkedOutBranch(root: string): Promise<string | undefined> {
  return gitOr(root, ['symbolic-ref', '--quiet', '--short', 'HEAD'], 'read the branch at HEAD');
}

export interface Base {
  /** null: the root was on no branch when the agent was made (its base is that commit). */
  branch: string | null;
  commit: string;
  note?: string;
}

/** The session's base branch for this agent: recorded when the agent was created; for older records, the root's branch now. */
export async function baseOf(root: string, agent: Pick<AgentRecord, 'name' | 'worktree'>): Promise<Base> {
  const recorded = agent.worktree?.base;
  if (recorded && COMMIT_ID.test(recorded)) return { branch: null, commit: recorded };
  if (recorded) {
    const commit = await commitOf(root, `refs/heads/${recorded}`);
    if (!commit) {
      throw new UserError(
        `${agent.name}'s base branch ${recorded} (checked out at the root when ${agent.name} was created) no longer exists; recreate it (git branch ${recorded} <commit>) in the session root.`,
      );
    }
    return { branch: recorded, commit };
  }
  const branch = await checkedOutBranch(root);
  const commit = await commitOf(root, 'HEAD');
  if (!commit) throw new UserError(`the session root ${root} has no commit yet; commit something first.`);
  // An agent sharing the root works on whatever the root has checked out: that is its base.
  if (!agent.worktree) return { branch: branch ?? null, commit };
  return {
    branch: branch ?? null,
    commit,
    note: `${agent.name}'s record predates recorded base branches: the root's current ${branch ? `branch ${branch}` : 'commit'} is used as its base.`,
  };
}

/** The tip of a worktree agent's branch; a refusal that says what to do when the branch is gone. */
export async function branchTip(root: string, agent: string, branch: string): Promise<string> {
  const tip = await commitOf(root, `refs/heads/${branch}`);
  if (!tip) {
    throw new UserError(
      `${agent}'s branch ${branch} no longer exists (deleted?); there is nothing to review or merge. Recreate it from the agent's worktree (git -C <worktree> checkout -b ${branch}), or delete the agent.`,
    );
  }
  return tip;
}

export async function aheadBehind(root: string, base: string, tip: string): Promise<{ ahead: number; behind: number }> {
  const out = (await git(root, ['rev-list', '--left-right', '--count', `${base}...${tip}`], 'count the commits ahead and behind')).trim();
  const [behind, ahead] = out.split(/\s+/u).map(Number);
  return { ahead: ahead ?? 0, behind: behind ?? 0 };
}

export async function worktreeChanges(session: SessionRecord, agent: AgentRecord, opts: ChangesOptions): Promise<AgentChanges> {
  const tree = agent.worktree!;
  const root = session.root;
  const base = await baseOf(root, agent);
  const tip = await branchTip(root, agent.name, tree.branch);
  const mergeBase = (await git(root, ['merge-base', base.commit, tip], 'find where the branch left its base')).trim();
  const { ahead, behind } = await aheadBehind(root, base.commit, tip);
  const paths = opts.path ? [opts.path] : [];
  const committed = new Set((await changesBetween(root, mergeBase, tip, paths)).map((f) => f.path));
  const present = existsSync(tree.path);
  const files = present ? await changesSince(tree.path, mergeBase, paths) : await changesBetween(root, mergeBase, tip, paths);
  const uncommitted = present ? [...(await dirtyTracked(tree.path)), ...(await untrackedFiles(tree.path))] : [];
  const wanted = opts.path ? uncommitted.filter((p) => p === opts.path || p.startsWith(`${opts.path}/`)) : uncommitted;
  const notes = [base.note, present ? undefined : `${agent.name}'s worktree ${tree.path} is gone: only its branch's commits are shown.`].filter(Boolean);
  const out: AgentChanges = {
    agent: agent.name,
    session_id: session.id,
    isolation: 'worktree',
    base_branch: base.branch,
    base_commit: base.commit,
    merge_base: mergeBase,
    branch: tree.branch,
    branch_commit: tip,
    commits_ahead: ahead,
    commits_behind: behind,
    files: files.map((f) => ({ ...f, committed: committed.has(f.path) })),
    uncommitted: [...new Set(wanted)].sort(),
    ...(notes.length ? { note: notes.join(' ') } : {}),
  };
  if (opts.patch) {
    const max = opts.max_bytes ?? DEFAULT_MAX_BYTES;
    const p = present
      ? await patchSince(tree.path, mergeBase, paths, max)
      : cutPatch(await git(root, ['diff', '--no-renames', mergeBase, tip, '--', ...paths.map(literal)], 'write the diff'), max);
    Object.assign(out, { patch: p.patch, ...(p.truncated ? { truncated: true } : {}) });
  }
  return out;
}

export async function sharedRootChanges(session: SessionRecord, agent: AgentRecord, runtimeDir: string, opts: ChangesOptions): Promise<AgentChanges> {
  const root = session.root;
  const base = await baseOf(root, agent);
  const written = (await filesWrittenBy(runtimeDir, agent, root)).filter((w) => !opts.path || w.path === opts.path || w.path.startsWith(`${opts.path}/`));
  const paths = written.map((w) => w.path);
  const diff = paths.length ? await changesSince(root, 'HEAD', paths) : [];
  const byPath = new Map(diff.map((f) => [f.path, f]));
  const files: FileChange[] = written.map((w) => ({
    ...(byPath.get(w.path) ?? { path: w.path, status: 'unchanged', added: 0, removed: 0 }),
    committed: false,
    since: new Date(w.since).toISOString(),
  }));
  const out: AgentChanges = {
    agent: agent.name,
    session_id: session.id,
    isolation: 'none',
    base_branch: base.branch,
    base_commit: base.commit,
    files,
    uncommitted: files.filter((f) => f.status !== 'unchanged').map((f) => f.path),
    attributed_by: 'hooks',
    note: `${agent.name} shares the session root: these are the files its Write/Edit/MultiEdit/NotebookEdit calls wrote (files changed by shell commands are not known), each with its diff against HEAD, which may include other agents' edits of the same file.`,
  };
  if (opts.patch) {
    const p = paths.length ? await patchSince(root, 'HEAD', paths, opts.max_bytes ?? DEFAULT_MAX_BYTES) : { patch: '', truncated: false };
    Object.assign(out, { patch: p.patch, ...(p.truncated ? { truncated: true } : {}) });
  }
  return out;
}
