import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunRecord, RunStep } from '../../src/store/runs.js';
import { jsonCodec, StateStore } from '../../src/store/state-store.js';
import { markWorking, newRunRecord, settleRunStep, unsent, WorkingMarks } from '../../src/supervisor/run-records.js';

/**
 * A run's step changes and the saves they cost: the "working" marks wait for the run's next
 * save, and the last reply of a parallel run ends it in that same save.
 */
const base = mkdtempSync(join(tmpdir(), 'tabcrew-run-records-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let dirs = 0;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function runOf(mode: RunRecord['mode'], steps: RunStep['status'][]): RunRecord {
  return {
    id: 'r-1',
    sessionId: 's-1',
    mode,
    task: 'one line each',
    state: 'running',
    createdAt: new Date().toISOString(),
    deadline: new Date(Date.now() + 60_000).toISOString(),
    agents: steps.map((_, i) => `Agent_${i + 1}`),
    spawned: [],
    removeSpawned: false,
    steps: steps.map((status, i) => ({ agent: `Agent_${i + 1}`, round: 1, status, ...(status === 'pending' ? {} : { deliveryId: `d-${i}` }) })),
  };
}

/** A store holding one run, and a count of its saves from now on. */
async function storeWith(run: RunRecord): Promise<{ store: StateStore; saves: () => Promise<number>; run: () => Promise<RunRecord> }> {
  const store = new StateStore(join(base, `s${dirs++}`), jsonCodec);
  await store.update((s) => void (s.runs = [run]));
  const from = (await store.read()).generation;
  return {
    store,
    saves: async () => (await store.read()).generation - from,
    run: async () => (await store.read()).runs![0]!,
  };
}

describe('a run step’s working mark', () => {
  it('is saved with the run’s next save (a reply), not in a save of its own', async () => {
    const s = await storeWith(runOf('parallel', ['sending', 'sending', 'sending']));
    const marks = new WorkingMarks(s.store, 60_000, (_, e) => {
      throw e;
    });
    marks.add('r-1', 0);
    marks.add('r-1', 1);
    await settleRunStep(s.store, 'r-1', 2, { status: 'done', reply: 'three' }, marks.take('r-1'));
    expect((await s.run()).steps.map((x) => x.status)).toEqual(['working', 'working', 'done']);
    expect(await s.saves()).toBe(1);
    await marks.flush('r-1'); // nothing left to save
    expect(await s.saves()).toBe(1);
  });

  it('is saved on its own after the delay when the run saves nothing else meanwhile', async () => {
    const s = await storeWith(runOf('parallel', ['sending', 'sending']));
    const marks = new WorkingMarks(s.store, 20, (_, e) => {
      throw e;
    });
    marks.add('r-1', 0);
    marks.add('r-1', 1);
    expect((await s.run()).steps.map((x) => x.status)).toEqual(['sending', 'sending']);
    await sleep(200);
    expect((await s.run()).steps.map((x) => x.status)).toEqual(['working', 'working']);
    expect(await s.saves()).toBe(1);
  });

  it('never undoes a reply or a failure saved before it', () => {
    const run = runOf('parallel', ['done', 'failed', 'sending', 'pending']);
    markWorking(run, [0, 1, 2, 3]);
    expect(run.steps.map((x) => x.status)).toEqual(['done', 'failed', 'working', 'pending']);
  });
});

describe('a run step’s outcome', () => {
  it('ends a parallel run in the save of its last reply', async () => {
    const s = await storeWith(runOf('parallel', ['done', 'working']));
    const first = await settleRunStep(s.store, 'r-1', 1, { status: 'done', reply: 'two' }, []);
    expect(first.ended?.state).toBe('done');
    const run = await s.run();
    expect(run.state).toBe('done');
    expect(run.endedAt).toBeDefined();
    expect(await s.saves()).toBe(1);
  });

  it('leaves a parallel run running while a step still works, and any sequential or consensus run to its driver', async () => {
    const parallel = await storeWith(runOf('parallel', ['working', 'working']));
    expect((await settleRunStep(parallel.store, 'r-1', 0, { status: 'done', reply: 'one' }, [])).ended).toBeUndefined();
    expect((await parallel.run()).state).toBe('running');
    for (const mode of ['sequential', 'consensus'] as const) {
      const s = await storeWith(runOf(mode, ['done', 'working']));
      expect((await settleRunStep(s.store, 'r-1', 1, { status: 'done', reply: 'two' }, [])).ended).toBeUndefined();
      expect((await s.run()).state).toBe('running');
    }
  });
});

describe('a new run’s record', () => {
  const owner = { pid: 1, pidStart: '1', heartbeat: new Date().toISOString(), host: 'h', instance: 'i' };
  const run = { sessionId: 's-1', agents: ['Agent_1', 'Agent_2'], spawned: [], timeoutS: 60, owner };

  it('of a parallel run has every step "sending" with a delivery id of its own, saved before any typing', () => {
    const r = newRunRecord({ mode: 'parallel', task: 't', per_agent_tasks: ['a', 'b'] }, run);
    expect(r.steps.map((s) => [s.agent, s.status, s.task])).toEqual([
      ['Agent_1', 'sending', 'a'],
      ['Agent_2', 'sending', 'b'],
    ]);
    expect(r.steps.every((s) => s.deliveryId && s.sentAt)).toBe(true);
    expect(new Set(r.steps.map((s) => s.deliveryId)).size).toBe(2);
  });

  it('of a sequential or consensus run has its steps pending, each typed in its turn', () => {
    for (const mode of ['sequential', 'consensus'] as const) {
      const r = newRunRecord({ mode, task: 't' }, run);
      expect(r.steps.map((s) => [s.status, s.deliveryId])).toEqual([
        ['pending', undefined],
        ['pending', undefined],
      ]);
    }
  });

  it('puts a step that was never typed back to pending, without its delivery id', () => {
    const step = newRunRecord({ mode: 'parallel', task: 't' }, run).steps[0]!;
    unsent(step);
    expect(step).toEqual({ agent: 'Agent_1', round: 1, status: 'pending' });
  });
});
