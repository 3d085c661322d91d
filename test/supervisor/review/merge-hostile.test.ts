import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/audit/logger.js';
import type { SessionRecord, State } from '../../../src/store/types.js';
import { ReviewDesk } from '../../../src/supervisor/review/review-desk.js';
import { addWorktree } from '../../../src/supervisor/worktrees.js';
import { hostileRepo } from '../../support/hostile-repo.js';
import { agentRecord } from '../../support/records.js';

/*
 * The red team's scenario at the review wing: an agent has made the repository hostile
 * (fsmonitor, hooks, a filter and a merge driver in .git/config) before its work is reviewed
 * and merged. get_agent_changes with a patch, and merge_agent_work with commit_uncommitted,
 * a --merge-check worktree and the root's checkout following, run none of it.
 */

const made: string[] = [];
afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('review and merge in a hostile repository', () => {
  it("get_agent_changes and merge_agent_work (commit_uncommitted, --merge-check, the root's checkout) run no hook, fsmonitor, filter or merge driver", async () => {
    const repo = hostileRepo();
    made.push(repo.dir);
    repo.commit('.gitattributes', '* filter=evil merge=evil\n', 'attributes');
    const tree = await addWorktree(repo.root, 'Agent_1');
    writeFileSync(join(tree.path, 'work.txt'), 'agent work\n');
    writeFileSync(join(tree.path, 'README'), 'hello, changed\n');
    repo.config('core.fsmonitor', repo.marker('fsmonitor'));
    repo.config('filter.evil.smudge', repo.marker('smudge', true));
    repo.config('filter.evil.clean', repo.marker('clean', true));
    repo.config('merge.evil.driver', repo.marker('merge-driver'));
    for (const h of ['pre-commit', 'commit-msg', 'post-commit', 'post-checkout', 'post-merge', 'reference-transaction', 'pre-auto-gc']) repo.hook(h);

    const session: SessionRecord = { id: 's-1', name: 'root', root: repo.root, createdAt: new Date().toISOString() };
    const agent = agentRecord({ worktree: { path: tree.path, branch: tree.branch, base: tree.base } });
    const state = { version: 2, nextAgentNumber: 2, sessions: [session], agents: [agent], generation: 1 } as unknown as State;
    const desk = new ReviewDesk({
      store: { read: async () => structuredClone(state), update: async (change: (s: State) => unknown) => change(state) } as never,
      runtimeDir: join(repo.dir, 'runtime'),
      log: silentLogger,
      tell: async () => undefined,
      env: process.env,
      mergeCheck: { command: 'test -f work.txt', timeoutMs: 30_000 },
    });

    const changes = await desk.changes('Agent_1', { patch: true });
    expect(changes.files.map((f) => f.path)).toEqual(['README', 'work.txt']);
    expect(changes.patch).toContain('+agent work');
    const r = await desk.merge('Agent_1', { commit_uncommitted: true });
    expect(r).toMatchObject({ merged: true, root_checkout_updated: true, check: { passed: true } });
    expect(readFileSync(join(repo.root, 'work.txt'), 'utf8')).toBe('agent work\n');
    expect(repo.fired()).toEqual([]);
  });
});
