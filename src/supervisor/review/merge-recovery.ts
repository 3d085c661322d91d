import type { MergeRecord } from '../../store/merges.js';
import { checkedOutBranch, commitOf } from './changes.js';
import { dirtyTracked, gitOr } from './git-diff.js';

/*
 * What a merge left behind when its tabcrew stopped in the middle of it (merge-queue.ts
 * calls this for a record still queued or running whose process is gone). The base either
 * never moved, or moved and the root's checkout followed (the merge landed), or moved while
 * the root's checkout did not follow: that half-moved base is put back where it was (with
 * update-ref's old-value check), so the root's branch and its files agree again.
 */

const short = (c: string) => c.slice(0, 12);
const list = (paths: string[], max = 20) => paths.slice(0, max).join(', ') + (paths.length > max ? ` and ${paths.length - max} more` : '');

/** Whether the root's index holds exactly `commit`'s tree (read-tree of the merge finished). */
async function indexHolds(root: string, commit: string): Promise<boolean> {
  return (await gitOr(root, ['diff-index', '--cached', '--quiet', commit, '--'], "compare the root's index")) !== undefined;
}

type Found = Pick<MergeRecord, 'reason' | 'commit' | 'base_after' | 'base_branch' | 'base_before'>;

export async function verifyInterrupted(root: string, record: MergeRecord): Promise<Found> {
  const found = await check(root, record);
  return record.moving ? { base_branch: record.moving.ref.replace(/^refs\/heads\//u, ''), base_before: record.moving.from, ...found } : found;
}

async function check(root: string, record: MergeRecord): Promise<Found> {
  const when = record.state === 'queued' ? 'before this merge started' : 'while this merge ran';
  if (!record.moving) {
    const at = record.base_branch ? await commitOf(root, `refs/heads/${record.base_branch}`) : undefined;
    const where = record.base_branch ? ` ${record.base_branch} ${at ? `is at ${short(at)}` : 'no longer exists'}.` : '';
    return { reason: `tabcrew stopped ${when}, before anything moved: nothing was merged.${where} Merge again.` };
  }
  const { ref, from, to } = record.moving;
  const name = ref.replace(/^refs\/heads\//u, '');
  const tip = await commitOf(root, ref);
  if (tip === from) return { reason: `tabcrew stopped ${when}, before ${name} moved: it is still at ${short(from)}. Nothing was merged; merge again.` };
  if (tip === to) {
    const onBase = (await checkedOutBranch(root)) === name;
    if (onBase && !(await indexHolds(root, to))) {
      const back = await gitOr(root, ['update-ref', '-m', 'tabcrew: interrupted merge undone', ref, from, to], `move ${name} back`);
      if (back === undefined) {
        return {
          reason: `tabcrew stopped after ${name} moved to ${short(to)} but before the root's checkout followed, and ${name} moved again since; look at the root's checkout (git status) before merging again.`,
        };
      }
      const dirty = await dirtyTracked(root).catch(() => []);
      const left = dirty.length
        ? ` The root's checkout has changes the merge may have left half written: ${list(dirty)}; look at them (git status) before merging again.`
        : '';
      return {
        reason: `tabcrew stopped after ${name} moved to ${short(to)} but before the root's checkout followed: ${name} was put back at ${short(from)}. Nothing was merged; merge again.${left}`,
      };
    }
    return {
      commit: to,
      base_after: to,
      reason: `tabcrew stopped ${when}, after it landed: ${name} is at ${short(to)}${onBase ? " and the root's checkout holds it" : ''}. Nothing is left to do.`,
    };
  }
  const holds = tip !== undefined && (await gitOr(root, ['merge-base', '--is-ancestor', to, tip], 'compare commits')) !== undefined;
  if (holds) {
    return {
      commit: to,
      base_after: to,
      reason: `tabcrew stopped ${when}, after it landed: ${name} holds ${short(to)} (and has moved on to ${short(tip)} since).`,
    };
  }
  return {
    reason: `tabcrew stopped ${when}; ${name} is ${tip ? `at ${short(tip)}` : 'gone'}, which does not hold this merge's commit ${short(to)}: nothing of it was merged. Merge again.`,
  };
}
