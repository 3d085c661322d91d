import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { GitError } from '../../git/run-git.js';
import type { AgentRecord, SessionRecord } from '../../store/types.js';
import { UserError } from '../errors.js';
import { aheadBehind, baseOf, branchTip, checkedOutBranch, commitOf } from './changes.js';
import { changesBetween, dirtyTracked, git, gitOr, untrackedFiles, type ChangedFile } from './git-diff.js';
import type { CheckResult } from './merge-check.js';

/*
 * One merge of a worktree agent's branch into the session's base branch (merge_agent_work).
 * Everything is checked before anything moves: the merged tree comes from
 * `git merge-tree --write-tree` (no working tree touched), the commit from commit-tree, and
 * the base moves with update-ref against its old value, so a base someone else moved
 * meanwhile is refused rather than overwritten. When the root has the base checked out, its
 * files follow with `read-tree -m -u old new`, which refuses to overwrite local changes; if
 * it fails the base goes back to where it was.
 */

export interface MergeInput {
  strategy?: 'merge' | 'squash';
  message?: string;
  commit_uncommitted?: boolean;
  dry_run?: boolean;
  on_conflict?: 'refuse' | 'ask_agent';
}

export interface MergeOutcome {
  agent: string;
  branch: string;
  base_branch: string;
  base_before: string;
  strategy: 'merge' | 'squash';
  merged: boolean;
  /** The new commit the base branch points at. */
  commit?: string;
  base_after?: string;
  dry_run?: true;
  files: ChangedFile[];
  /** Work committed in the agent's worktree first (commit_uncommitted). */
  committed_uncommitted?: { commit?: string; files: string[] };
  root_checkout_updated?: boolean;
  check?: CheckResult;
  /** Other agents told that their branch is now behind. */
  told_behind?: string[];
  note?: string;
}

/** A refusal that carries what the merge queue records about it. */
export class MergeRefused extends UserError {
  override name = 'MergeRefused';
  constructor(
    message: string,
    readonly detail: { conflicts?: string[]; uncommitted?: string[]; check?: CheckResult; base_before?: string } = {},
  ) {
    super(message);
  }
}

export interface MergeDeps {
  /** --merge-check, when configured. */
  check?: (root: string, commit: string) => Promise<CheckResult>;
  /** Sends the agent a tabcrew message. */
  tell: (agent: string, text: string) => Promise<void>;
  audit: (event: Record<string, unknown>) => Promise<void>;
  /** The other agents of the session (for "your branch is behind"). */
  peers: AgentRecord[];
  /** Records where the base goes just before it moves (the merge queue's record; a restart checks it). */
  moving?: (move: { ref: string; from: string; to: string }) => Promise<void>;
}

const list = (paths: string[], max = 20) => paths.slice(0, max).join(', ') + (paths.length > max ? ` and ${paths.length - max} more` : '');

function splitZ(out: string): string[] {
  const parts = out.split('\0');
  if (parts.at(-1) === '') parts.pop();
  return parts;
}

/** The merged tree, or the conflicting paths; nothing touched. */
async function mergeTree(root: string, base: string, tip: string): Promise<{ tree: string; conflicts: string[] }> {
  const r = await git(root, ['merge-tree', '--write-tree', '--name-only', '-z', '--no-messages', base, tip], 'merge the trees', [1]);
  const [tree = '', ...rest] = splitZ(r);
  const end = rest.indexOf('');
  return { tree, conflicts: [...new Set(end < 0 ? rest : rest.slice(0, end))] };
}

/** The worktree folder (other than `except`) that has `branch` checked out, if any. */
async function checkedOutElsewhere(root: string, branch: string, except: string): Promise<string | undefined> {
  const out = await git(root, ['worktree', 'list', '--porcelain', '-z'], 'list the worktrees');
  let path = '';
  for (const field of splitZ(out)) {
    if (field.startsWith('worktree ')) path = field.slice(9);
    else if (field === `branch refs/heads/${branch}` && resolve(path) !== resolve(except)) return path;
  }
  return undefined;
}

async function commitUncommitted(agent: AgentRecord, files: string[], message: string | undefined): Promise<string> {
  const tree = agent.worktree!;
  const on = await checkedOutBranch(tree.path);
  if (on !== tree.branch) {
    throw new MergeRefused(
      `${agent.name}'s worktree has ${on ? `branch ${on}` : 'no branch'} checked out, not ${tree.branch}; tabcrew commits uncommitted work only onto the agent's branch. Nothing was merged.`,
    );
  }
  const text = `${agent.name}: ${message?.trim() || `uncommitted work (${files.length} file${files.length === 1 ? '' : 's'}), committed by tabcrew before merging`}\n`;
  try {
    await git(tree.path, ['add', '--all', '--', '.'], "stage the agent's uncommitted work");
    await git(tree.path, ['commit', '--quiet', '--no-verify', '--file=-'], "commit the agent's uncommitted work", undefined, text);
  } catch (e) {
    if (!(e instanceof GitError)) throw e;
    throw new MergeRefused(`${e.message}. Nothing was merged; set git's user.name and user.email if it asks who you are.`);
  }
  return (await commitOf(tree.path, 'HEAD'))!;
}

/** A message to an agent; the merge's outcome never depends on it (a rate limit, a session gone): true, or why not. */
async function tellSafely(deps: MergeDeps, agent: string, text: string): Promise<true | string> {
  try {
    await deps.tell(agent, text);
    return true;
  } catch (e) {
    return (e as Error).message;
  }
}

export async function mergeAgent(session: SessionRecord, agent: AgentRecord, input: MergeInput, deps: MergeDeps): Promise<MergeOutcome> {
  const tree = agent.worktree;
  if (!tree) {
    throw new MergeRefused(
      `${agent.name} shares the session root (it has no worktree of its own): its edits are already in the root's checkout, so there is no branch to merge. Review them with get_agent_changes and commit them there; merge_agent_work merges agents created with isolation: "worktree".`,
    );
  }
  const root = session.root;
  const strategy = input.strategy ?? 'merge';
  const base = await baseOf(root, agent);
  if (!base.branch) {
    throw new MergeRefused(
      `${agent.name} was created while the root was on no branch (detached at ${base.commit.slice(0, 12)}), so it has no base branch to merge into; merge ${tree.branch} by hand (git merge ${tree.branch}) on the branch you want.`,
    );
  }
  const audit = (action: string, extra: Record<string, unknown> = {}) =>
    deps.audit({ type: 'merge', action, agent: agent.name, session: session.id, branch: tree.branch, base_branch: base.branch, ...extra });
  let tip = await branchTip(root, agent.name, tree.branch);
  const out: MergeOutcome = { agent: agent.name, branch: tree.branch, base_branch: base.branch, base_before: base.commit, strategy, merged: false, files: [] };
  if (base.note) out.note = base.note;

  const dirty = existsSync(tree.path) ? [...new Set([...(await dirtyTracked(tree.path)), ...(await untrackedFiles(tree.path))])].sort() : [];
  if (dirty.length && !input.commit_uncommitted) {
    throw new MergeRefused(
      `${agent.name}'s worktree has uncommitted work: ${list(dirty)}. Nothing was merged. Ask ${agent.name} to commit it, or pass commit_uncommitted: true to commit it as "${agent.name}: …" first.`,
      { uncommitted: dirty, base_before: base.commit },
    );
  }
  if (dirty.length && !input.dry_run) {
    tip = await commitUncommitted(agent, dirty, input.message);
    out.committed_uncommitted = { commit: tip, files: dirty };
    await audit('committed_uncommitted', { commit: tip, files: dirty.length });
  } else if (dirty.length) {
    out.committed_uncommitted = { files: dirty };
  }

  const { ahead } = await aheadBehind(root, base.commit, tip);
  if (ahead === 0) {
    throw new MergeRefused(
      `${tree.branch} has no commits that ${base.branch} lacks${dirty.length && input.dry_run ? ' (its uncommitted files would be committed first, which a dry run does not do)' : ''}: there is nothing to merge. ${agent.name} has to commit its work on ${tree.branch} first.`,
      { base_before: base.commit },
    );
  }

  const rootBranch = await checkedOutBranch(root);
  const onBase = rootBranch === base.branch;
  const elsewhere = await checkedOutElsewhere(root, base.branch, root);
  if (elsewhere) {
    throw new MergeRefused(
      `${base.branch} is checked out in the worktree ${elsewhere}; tabcrew does not move a branch under another checkout. Switch that worktree to another branch and merge again.`,
      { base_before: base.commit },
    );
  }
  if (onBase) {
    const rootDirty = await dirtyTracked(root);
    if (rootDirty.length) {
      throw new MergeRefused(
        `the session root has ${base.branch} checked out with uncommitted changes: ${list(rootDirty)}. Nothing was merged. Commit or stash them there, then merge again.`,
        { base_before: base.commit },
      );
    }
  }

  const merged = await mergeTree(root, base.commit, tip);
  if (merged.conflicts.length) {
    await audit('conflict', { base_before: base.commit, conflicts: merged.conflicts.length, dry_run: input.dry_run === true });
    let asked = '';
    if (input.on_conflict === 'ask_agent' && !input.dry_run) {
      const sent = await tellSafely(
        deps,
        agent.name,
        `Merging your branch ${tree.branch} into ${base.branch} conflicts in: ${list(merged.conflicts, 50)}. ${base.branch} is at ${base.commit}. Please merge it into your branch (git merge ${base.commit}), resolve the conflicts, commit, and say when you are done; the merge will then be tried again.`,
      );
      asked =
        sent === true
          ? ` ${agent.name} was asked to merge ${base.branch} into its branch and resolve them.`
          : ` ${agent.name} could not be asked (${sent}); tell it yourself.`;
    }
    throw new MergeRefused(
      `${tree.branch} conflicts with ${base.branch} (at ${base.commit.slice(0, 12)}) in: ${list(merged.conflicts, 50)}. Nothing was merged; ${base.branch} is unchanged.${asked || ` Pass on_conflict: "ask_agent" to have ${agent.name} merge ${base.branch} and resolve them, then merge again.`}`,
      { conflicts: merged.conflicts, base_before: base.commit },
    );
  }
  out.files = await changesBetween(root, base.commit, merged.tree);

  if (onBase) {
    const added = new Set(out.files.filter((f) => f.status === 'A').map((f) => f.path));
    const inTheWay = (await untrackedFiles(root)).filter((p) => added.has(p));
    if (inTheWay.length) {
      throw new MergeRefused(
        `the merge adds files the session root already has as untracked files: ${list(inTheWay)}. Nothing was merged. Move them away (or commit them) and merge again.`,
        { base_before: base.commit },
      );
    }
  }
  if (input.dry_run) {
    await audit('dry_run', { base_before: base.commit });
    return {
      ...out,
      dry_run: true,
      note: [out.note, `would merge ${ahead} commit(s) into ${base.branch} without conflicts; nothing was changed.`].filter(Boolean).join(' '),
    };
  }

  const message =
    input.message?.trim() ||
    (strategy === 'squash' ? `${agent.name}: work of ${tree.branch} (squashed)` : `Merge ${tree.branch} (${agent.name}) into ${base.branch}`);
  const parents = strategy === 'squash' ? ['-p', base.commit] : ['-p', base.commit, '-p', tip];
  let commit: string;
  try {
    commit = (await git(root, ['commit-tree', merged.tree, ...parents], 'make the merge commit', undefined, `${message}\n`)).trim();
  } catch (e) {
    if (!(e instanceof GitError)) throw e;
    throw new MergeRefused(`${e.message}. Nothing was merged; set git's user.name and user.email if it asks who you are.`, { base_before: base.commit });
  }

  if (deps.check) {
    const check = await deps.check(root, commit);
    out.check = check;
    await audit('check', { commit, passed: check.passed, exit_code: check.exit_code, ms: check.ms });
    if (!check.passed) {
      throw new MergeRefused(
        `--merge-check "${check.command}" failed (exit ${check.exit_code ?? 'none'}${check.timed_out ? ', timed out' : ''}) on the merged tree; nothing was merged, ${base.branch} is unchanged. Its last lines:\n${check.tail}`,
        { check, base_before: base.commit },
      );
    }
  }

  const ref = `refs/heads/${base.branch}`;
  await deps.moving?.({ ref, from: base.commit, to: commit });
  const moved = await gitOr(root, ['update-ref', '-m', `tabcrew: merge ${tree.branch}`, ref, commit, base.commit], `move ${base.branch}`);
  if (moved === undefined) {
    throw new MergeRefused(
      `${base.branch} moved while the merge was being prepared (it is no longer at ${base.commit.slice(0, 12)}); nothing was merged. Merge again.`,
      {
        base_before: base.commit,
      },
    );
  }
  if (onBase && (await checkedOutBranch(root)) === base.branch) {
    try {
      await git(root, ['read-tree', '-m', '-u', base.commit, commit], "update the root's checkout");
      out.root_checkout_updated = true;
    } catch (e) {
      if (!(e instanceof GitError)) throw e;
      await git(root, ['update-ref', '-m', 'tabcrew: merge undone', ref, base.commit, commit], `move ${base.branch} back`);
      await audit('undone', { base_before: base.commit, reason: e.message });
      throw new MergeRefused(
        `the session root's checkout could not take the merge (${e.stderr.trim().split('\n').slice(-2).join(' ') || e.message}); ${base.branch} was put back at ${base.commit.slice(0, 12)}. Clean up the root's checkout and merge again.`,
        { base_before: base.commit },
      );
    }
  }
  Object.assign(out, { merged: true, commit, base_after: commit });
  await audit('merged', { base_before: base.commit, base_after: commit, strategy, check: out.check ? out.check.passed : undefined });

  const told: string[] = [];
  for (const peer of deps.peers) {
    if (!peer.worktree || peer.name === agent.name || peer.worktree.base !== base.branch) continue;
    const peerTip = await commitOf(root, `refs/heads/${peer.worktree.branch}`);
    if (!peerTip) continue;
    const upToDate = (await gitOr(root, ['merge-base', '--is-ancestor', commit, peerTip], 'compare branches')) !== undefined;
    if (upToDate) continue;
    const sent = await tellSafely(
      deps,
      peer.name,
      `${agent.name}'s work was merged into ${base.branch}, which is now at ${commit}. Your branch ${peer.worktree.branch} is behind it: merge ${base.branch} into your branch (git merge ${commit}) before your own work is merged.`,
    );
    if (sent === true) told.push(peer.name);
    else out.note = [out.note, `${peer.name} is behind ${base.branch} now but could not be told (${sent}).`].filter(Boolean).join(' ');
  }
  if (told.length) {
    out.told_behind = told;
    await audit('told_behind', { agents: told, base_after: commit });
  }
  return out;
}
