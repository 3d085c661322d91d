import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/audit/logger.js';
import type { MergeRecord } from '../../../src/store/merges.js';
import { jsonCodec, StateStore } from '../../../src/store/state-store.js';
import { KEEP_FINISHED } from '../../../src/supervisor/review/merge-queue.js';
import { ReviewDesk } from '../../../src/supervisor/review/review-desk.js';
import { Owner } from '../../../src/supervisor/owner.js';
import { cleanup, commitAll, gitIn, world, write } from './review-world.js';

afterAll(cleanup);

/*
 * The merge queue lives in the state: a ReviewDesk over a fresh StateStore on the same
 * folder (a restarted tabcrew) lists what the first one merged and refused, and finds the
 * merges a stopped tabcrew left queued or running, checks their base and marks them
 * interrupted.
 */

/** A state folder holding the world's session and agents, and a desk over it as a process of its own. */
async function durable(w: ReturnType<typeof world>) {
  const dir = mkdtempSync(join(tmpdir(), 'tabcrew-merges-'));
  const first = new StateStore(dir, jsonCodec);
  await first.update((s) => {
    s.sessions = structuredClone(w.state.sessions);
    s.agents = structuredClone(w.state.agents);
  });
  const desk = (store = new StateStore(dir, jsonCodec)) =>
    new ReviewDesk({ store, owner: new Owner(), runtimeDir: w.runtimeDir, log: silentLogger, tell: async () => undefined, env: process.env });
  return { dir, store: first, desk };
}

/** The owner stamp of a tabcrew process that has ended. */
function deadOwner(): NonNullable<MergeRecord['owner']> {
  const pid = spawnSync('true').pid!;
  return { pid, pidStart: '1', heartbeat: new Date().toISOString(), host: hostname(), instance: 'gone' };
}

const running = (over: Partial<MergeRecord>): MergeRecord => ({
  merge_id: 'mg-interrupted',
  session_id: 's-1',
  agent: 'Agent_1',
  state: 'running',
  queued_at: new Date().toISOString(),
  started_at: new Date().toISOString(),
  owner: deadOwner(),
  ...over,
});

async function agentWithCommit(w: ReturnType<typeof world>, name: string, path: string, text: string) {
  const a = await w.addAgent(name);
  write(a.worktree!.path, path, text);
  return { agent: a, tip: commitAll(a.worktree!.path, `${name} writes ${path}`) };
}

describe('the merge queue across a restart', () => {
  it('list_merges after a restart still shows the merges done and refused, with their commits and reasons', async () => {
    const w = world();
    await agentWithCommit(w, 'Agent_1', 'a.txt', 'a\n');
    await w.addAgent('Agent_2');
    const d = await durable(w);
    const before = await d.desk(d.store);
    const merged = await before.merge('Agent_1', {});
    await expect(before.merge('Agent_2', {})).rejects.toThrow(/nothing to merge/);

    const after = d.desk();
    const { merges } = await after.listMerges('s-1');
    expect(merges).toEqual([
      expect.objectContaining({
        merge_id: merged.merge_id,
        agent: 'Agent_1',
        state: 'done',
        commit: merged.commit,
        base_after: merged.commit,
        finished_at: expect.any(String),
      }),
      expect.objectContaining({ agent: 'Agent_2', state: 'refused', reason: expect.stringMatching(/nothing to merge/) }),
    ]);
    // What the tool shows carries no process details.
    expect(merges[0]).not.toHaveProperty('owner');
    expect(merges[0]).not.toHaveProperty('moving');
  });

  it('a merge whose tabcrew stopped before the base moved is shown as interrupted, the base untouched', async () => {
    const w = world();
    await agentWithCommit(w, 'Agent_1', 'a.txt', 'a\n');
    const main = w.head();
    const d = await durable(w);
    await d.store.update((s) => void (s.merges = [running({})]));
    const [m] = (await d.desk().listMerges('s-1')).merges;
    expect(m).toMatchObject({ state: 'interrupted', reason: expect.stringMatching(/before anything moved: nothing was merged/) });
    expect(w.head()).toBe(main);
  });

  it('a merge whose tabcrew stopped after the base moved but before the root’s checkout followed: the base is put back', async () => {
    const w = world();
    const { tip } = await agentWithCommit(w, 'Agent_1', 'a.txt', 'a\n');
    const main = w.head();
    // update-ref ran, read-tree did not: main names the merge, the root's files and index are the old ones.
    gitIn(w.root, 'update-ref', 'refs/heads/main', tip, main);
    const d = await durable(w);
    await d.store.update((s) => void (s.merges = [running({ moving: { ref: 'refs/heads/main', from: main, to: tip } })]));
    const [m] = (await d.desk().listMerges('s-1')).merges;
    expect(m).toMatchObject({
      state: 'interrupted',
      base_branch: 'main',
      base_before: main,
      reason: expect.stringMatching(/before the root's checkout followed: main was put back at [0-9a-f]{12}\. Nothing was merged/),
    });
    expect(m!.commit).toBeUndefined();
    expect(w.head()).toBe(main);
    expect(gitIn(w.root, 'status', '--porcelain')).toBe('');
  });

  it('a merge whose tabcrew stopped after it landed is shown as interrupted with its commit, the base left where it is', async () => {
    const w = world();
    const { tip } = await agentWithCommit(w, 'Agent_1', 'a.txt', 'a\n');
    const main = w.head();
    gitIn(w.root, 'update-ref', 'refs/heads/main', tip, main);
    gitIn(w.root, 'read-tree', '-m', '-u', main, tip);
    const d = await durable(w);
    await d.store.update((s) => void (s.merges = [running({ moving: { ref: 'refs/heads/main', from: main, to: tip } })]));
    const [m] = (await d.desk().listMerges('s-1')).merges;
    expect(m).toMatchObject({
      state: 'interrupted',
      commit: tip,
      base_after: tip,
      reason: expect.stringMatching(/after it landed: main is at .* the root's checkout holds it/),
    });
    expect(w.head()).toBe(tip);
    expect(readFileSync(join(w.root, 'a.txt'), 'utf8')).toBe('a\n');
  });

  it('a merge another live tabcrew is running is left as it is', async () => {
    const w = world();
    const d = await durable(w);
    const other = new Owner();
    await d.store.update((s) => void (s.merges = [running({ owner: other.stamp() })]));
    expect((await d.desk().listMerges('s-1')).merges[0]).toMatchObject({ state: 'running' });
  });

  it(`keeps the newest ${KEEP_FINISHED} finished merges of a session, and none of a session that is gone`, async () => {
    const w = world();
    await agentWithCommit(w, 'Agent_1', 'a.txt', 'a\n');
    const d = await durable(w);
    const old = (i: number, session = 's-1'): MergeRecord => ({
      ...running({ merge_id: `mg-old-${i}`, session_id: session, state: 'refused' }),
      owner: undefined,
    });
    await d.store.update((s) => void (s.merges = [...Array.from({ length: KEEP_FINISHED + 5 }, (_, i) => old(i)), old(99, 's-gone')]));
    await d.desk(d.store).merge('Agent_1', {});
    const { merges } = await d.desk().listMerges('s-1');
    expect(merges).toHaveLength(KEEP_FINISHED);
    expect(merges[0]!.merge_id).toBe('mg-old-6');
    expect(merges.at(-1)).toMatchObject({ agent: 'Agent_1', state: 'done' });
    expect((await d.store.read()).merges!.some((m) => m.session_id === 's-gone')).toBe(false);
  });
});
