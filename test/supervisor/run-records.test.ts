import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunRecord, RunStep } from '../../src/store/runs.js';
import { jsonCodec, StateStore } from '../../src/store/state-store.js';
import { applyChanges, markWorking, newRunRecord, settleRunStep, StepMarks, unsent, type SavedOutcomes } from '../../src/supervisor/run-records.js';

/**
 * A run's step changes and the saves they cost: the "working" marks and a parallel run's
 * replies wait for the run's next save (its end), or a delay.
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
    const marks = new StepMarks(s.store, 60_000, (_, e) => {
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
    const marks = new StepMarks(s.store, 20, (_, e) => {
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
  const failOnError = (_: string, e: Error): never => {
    throw e;
  };

  it('of a parallel run waits, with the working marks, for one save, and shows in a view of the run meanwhile', async () => {
    const s = await storeWith(runOf('parallel', ['sending', 'sending', 'sending']));
    const told: SavedOutcomes[] = [];
    const marks = new StepMarks(s.store, 60_000, failOnError, (_, saved) => told.push(saved));
    marks.add('r-1', 0);
    marks.add('r-1', 1);
    marks.add('r-1', 2);
    marks.settle('r-1', 0, { status: 'done', reply: 'one' });
    marks.settle('r-1', 2, { status: 'failed', error: 'gone' });
    expect(await s.saves()).toBe(0);
    const view = applyChanges(await s.run(), marks.peek('r-1')!);
    expect(view.steps.map((x) => [x.status, x.reply ?? x.error])).toEqual([
      ['done', 'one'],
      ['working', undefined],
      ['failed', 'gone'],
    ]);
    await marks.flush('r-1');
    expect(await s.saves()).toBe(1);
    expect((await s.run()).steps.map((x) => x.status)).toEqual(['done', 'working', 'failed']);
    expect((await s.run()).steps[0]!.endedAt).toBeDefined();
    expect(told.map((t) => t.steps.map((x) => [x.agent, x.status]))).toEqual([
      [
        ['Agent_1', 'done'],
        ['Agent_3', 'failed'],
      ],
    ]);
  });

  it('is kept for the next save when the save that took it failed', async () => {
    const s = await storeWith(runOf('parallel', ['working', 'working']));
    const failures: string[] = [];
    let fail = true;
    const store = {
      updateBatched: <T>(change: (state: never) => T) => (fail ? ((fail = false), Promise.reject(new Error('disk full'))) : s.store.updateBatched(change)),
    } as unknown as StateStore;
    const marks = new StepMarks(store, 60_000, (_, e) => failures.push(e.message));
    marks.settle('r-1', 1, { status: 'done', reply: 'two' });
    await marks.flush('r-1');
    expect(failures).toEqual(['disk full']);
    expect(marks.peek('r-1')?.outcomes.get(1)?.reply).toBe('two');
    await marks.flush('r-1');
    expect((await s.run()).steps.map((x) => x.status)).toEqual(['working', 'done']);
  });

  it('of a pipeline or a consensus step is saved at once, with the working marks, and leaves the run to its driver', async () => {
    for (const mode of ['sequential', 'consensus'] as const) {
      const s = await storeWith(runOf(mode, ['sending', 'working']));
      const marks = new StepMarks(s.store, 60_000, failOnError);
      marks.add('r-1', 0);
      const { step } = await settleRunStep(s.store, 'r-1', 1, { status: 'done', reply: 'two' }, marks.take('r-1'));
      expect(step.reply).toBe('two');
      const run = await s.run();
      expect(run.steps.map((x) => x.status)).toEqual(['working', 'done']);
      expect(run.state).toBe('running');
      expect(await s.saves()).toBe(1);
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
