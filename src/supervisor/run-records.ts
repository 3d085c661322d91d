import type { RunRecord, RunStep } from '../store/runs.js';
import type { StateStore } from '../store/state-store.js';
import type { State } from '../store/types.js';
import type { CoordinateInput } from './coordination-input.js';
import { endRun } from './coordination-view.js';
import { newDeliveryId, newRunId } from './ids.js';

/**
 * A new run's record. A parallel run's messages go out at once: its steps are saved already
 * "sending" with their delivery ids (docs/coordination.md), so the record's one save comes
 * before the typing, not a second save of the steps after it. Other runs' steps are pending.
 */
export function newRunRecord(
  input: Pick<CoordinateInput, 'mode' | 'task' | 'per_agent_tasks' | 'remove_spawned'>,
  run: { sessionId: string; agents: string[]; spawned: string[]; timeoutS: number; caller?: string; owner: RunRecord['owner'] },
  now = Date.now(),
): RunRecord {
  const sending = input.mode === 'parallel' ? { status: 'sending' as const, sentAt: new Date(now).toISOString() } : undefined;
  return {
    id: newRunId(),
    sessionId: run.sessionId,
    mode: input.mode,
    task: input.task,
    state: 'running',
    createdAt: new Date(now).toISOString(),
    deadline: new Date(now + run.timeoutS * 1000).toISOString(),
    ...(run.caller ? { caller: run.caller } : {}),
    agents: run.agents,
    spawned: run.spawned,
    removeSpawned: input.remove_spawned ?? false,
    steps: run.agents.map((agent, i) => ({
      agent,
      round: 1,
      ...(sending ? { ...sending, deliveryId: newDeliveryId() } : { status: 'pending' as const }),
      ...(input.per_agent_tasks ? { task: input.per_agent_tasks[i] } : {}),
    })),
    owner: run.owner,
  };
}

/** Adds a run to the state, keeping `keepFinished` ended runs (running ones are always kept). */
export function addRun(s: State, record: RunRecord, keepFinished: number): void {
  const runs = (s.runs ??= []);
  runs.push(record);
  const finished = runs.filter((r) => r.state !== 'running');
  const drop = new Set(finished.slice(0, Math.max(0, finished.length - keepFinished)).map((r) => r.id));
  s.runs = runs.filter((r) => !drop.has(r.id));
}

/** A step saved "sending" that was never typed (its run stopped first) is pending again. */
export function unsent(s: RunStep): void {
  s.status = 'pending';
  delete s.deliveryId;
  delete s.sentAt;
}

/** A coordination run's record in the state; a run that is not there is a bug, not a user error. */
export function runIn(state: Readonly<State>, id: string): RunRecord {
  const run = state.runs?.find((r) => r.id === id);
  if (!run) throw new Error(`coordination run ${id} is not in the state`);
  return run;
}

function stepOf(s: State, id: string, i: number): { run: RunRecord; step: RunStep } {
  const run = s.runs?.find((r) => r.id === id);
  const step = run?.steps[i];
  if (!run || !step) throw new Error(`coordination run ${id} has no step ${i}`);
  return { run, step };
}

/**
 * Changes one step of a run, with the run's session (no second read of the state for it).
 * Batched: the steps of a fan-out change at the same moments (all typed, all replied), and
 * one save for all of them keeps a 64-agent run from queueing 64 saves behind the lock.
 */
export function patchRunStep(
  store: Pick<StateStore, 'updateBatched'>,
  id: string,
  i: number,
  patch: (s: RunStep) => void,
): Promise<{ step: RunStep; sessionId: string }> {
  return store.updateBatched((s) => {
    const { run, step } = stepOf(s, id, i);
    patch(step);
    return { step: structuredClone(step), sessionId: run.sessionId };
  });
}

const FINAL: ReadonlySet<RunStep['status']> = new Set(['done', 'failed', 'skipped']);

/** Steps seen typed become "working" (only from "sending": a mark never undoes a reply). */
export function markWorking(run: RunRecord, steps: readonly number[]): void {
  for (const i of steps) {
    const step = run.steps[i];
    if (step?.status === 'sending') step.status = 'working';
  }
}

/**
 * A step's outcome, saved with the run's waiting "working" marks; the last reply of a
 * parallel run also ends the run in the same save (`ended`: the run as it ended), so the
 * fan-out's end waits for one save, not two one after the other.
 */
export function settleRunStep(
  store: Pick<StateStore, 'updateBatched'>,
  id: string,
  i: number,
  outcome: Pick<RunStep, 'status' | 'reply' | 'tokens' | 'error'>,
  working: readonly number[],
  now = Date.now(),
): Promise<{ step: RunStep; sessionId: string; ended?: RunRecord }> {
  return store.updateBatched((s) => {
    const { run, step } = stepOf(s, id, i);
    markWorking(run, working);
    Object.assign(step, outcome);
    step.endedAt = new Date(now).toISOString();
    let ended: RunRecord | undefined;
    if (run.mode === 'parallel' && run.state === 'running' && run.steps.every((x) => FINAL.has(x.status))) {
      endRun(run, { cancelled: !!run.cancelled, now });
      delete run.owner;
      ended = structuredClone(run);
    }
    return { step: structuredClone(step), sessionId: run.sessionId, ended };
  });
}

/**
 * The "working" marks of runs' steps, saved late: with the run's next save (a reply, its
 * end) or after `delayMs`, whichever comes first. Saved at once, a 64-agent fan-out queued a
 * save behind the lock for every few confirmations, in the middle of its replies. A crash
 * loses at most the marks of the last `delayMs`: those steps stay "sending" with their
 * delivery id on disk, and the next tabcrew finds their prompt in the hook spool (collect)
 * and goes on as with "working".
 */
export class WorkingMarks {
  private readonly waiting = new Map<string, { steps: Set<number>; timer: NodeJS.Timeout }>();

  constructor(
    private readonly store: Pick<StateStore, 'updateBatched'>,
    private readonly delayMs: number,
    private readonly failed: (id: string, e: Error) => void,
  ) {}

  add(id: string, i: number): void {
    let w = this.waiting.get(id);
    if (!w) {
      const timer = setTimeout(() => void this.flush(id), this.delayMs);
      timer.unref?.();
      this.waiting.set(id, (w = { steps: new Set(), timer }));
    }
    w.steps.add(i);
  }

  /** The run's waiting marks, for a save that is about to happen (taken: put them back if it fails). */
  take(id: string): number[] {
    const w = this.waiting.get(id);
    if (!w) return [];
    clearTimeout(w.timer);
    this.waiting.delete(id);
    return [...w.steps];
  }

  /** Puts marks back after the save that took them failed. */
  putBack(id: string, steps: readonly number[]): void {
    for (const i of steps) this.add(id, i);
  }

  /** Saves the run's waiting marks now. */
  async flush(id: string): Promise<void> {
    const steps = this.take(id);
    if (!steps.length) return;
    await this.store
      .updateBatched((s) => {
        const run = s.runs?.find((r) => r.id === id);
        if (run) markWorking(run, steps);
      })
      .catch((e: Error) => this.failed(id, e));
  }
}
