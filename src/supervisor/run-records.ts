import type { RunRecord, RunStep } from '../store/runs.js';
import type { StateStore } from '../store/state-store.js';
import type { State } from '../store/types.js';
import type { CoordinateInput } from './coordination-input.js';
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

/** A step's outcome as collected: its status (done, failed) with the reply, tokens or error. */
export type StepOutcome = Pick<RunStep, 'status' | 'reply' | 'tokens' | 'error'>;

/** What waits to be saved of a run's steps: "working" marks, and outcomes with the time each was collected. */
export interface StepChanges {
  working: number[];
  outcomes: Map<number, StepOutcome & { endedAt: string }>;
}

/** Steps seen typed become "working" (only from "sending": a mark never undoes a reply). */
export function markWorking(run: RunRecord, steps: readonly number[]): void {
  for (const i of steps) {
    const step = run.steps[i];
    if (step?.status === 'sending') step.status = 'working';
  }
}

/** Puts waiting changes into the run (the state's record before a save, or a copy for a view). */
export function applyChanges(run: RunRecord, changes: StepChanges): RunRecord {
  markWorking(run, changes.working);
  for (const [i, outcome] of changes.outcomes) if (run.steps[i]) Object.assign(run.steps[i], outcome);
  return run;
}

/** A step's outcome, saved at once with the run's waiting changes (a pipeline's or a consensus' step: the next one reads it). */
export function settleRunStep(
  store: Pick<StateStore, 'updateBatched'>,
  id: string,
  i: number,
  outcome: StepOutcome,
  waiting: StepChanges,
  now = Date.now(),
): Promise<{ step: RunStep; sessionId: string }> {
  return store.updateBatched((s) => {
    const { run, step } = stepOf(s, id, i);
    applyChanges(run, waiting);
    Object.assign(step, outcome);
    step.endedAt = new Date(now).toISOString();
    return { step: structuredClone(step), sessionId: run.sessionId };
  });
}

/** The steps whose outcomes a save just wrote, as saved, with their run's session. */
export type SavedOutcomes = { sessionId: string; steps: RunStep[] };

/** The steps of `run` that `changes` gave an outcome, copied as they are now (inside the save that wrote them). */
export function savedOutcomes(run: RunRecord, changes: StepChanges): SavedOutcomes {
  return { sessionId: run.sessionId, steps: [...changes.outcomes.keys()].flatMap((i) => (run.steps[i] ? [structuredClone(run.steps[i])] : [])) };
}

/**
 * Changes of runs' steps saved late: the "working" marks, and a parallel run's replies (its
 * steps' outcomes), with the run's next save (its end) or after `delayMs`, whichever comes
 * first. Saved at once, a fan-out's replies were a chain of saves (three fsyncs each, and
 * the audit record after each) while the agents' Stop hooks ran, and the run's end waited
 * for the save under way before its own. A crash loses at most the changes of the last
 * `delayMs`: those steps stay "sending" or "working" with their delivery id on disk, and the
 * next tabcrew finds their prompt and their turn's end in the hook spool and the reply in
 * the transcript (collect), as this one did.
 */
export class StepMarks {
  private readonly waiting = new Map<string, StepChanges & { timer: NodeJS.Timeout }>();

  constructor(
    private readonly store: Pick<StateStore, 'updateBatched'>,
    private readonly delayMs: number,
    private readonly failed: (id: string, e: Error) => void,
    /** Told of the outcomes a delayed save wrote (their audit records follow the save). */
    private readonly saved?: (id: string, saved: SavedOutcomes) => void,
  ) {}

  /** A step seen typed. */
  add(id: string, i: number): void {
    this.changes(id).working.push(i);
  }

  /** A step's outcome, collected `now`. */
  settle(id: string, i: number, outcome: StepOutcome, now = Date.now()): void {
    this.changes(id).outcomes.set(i, { ...outcome, endedAt: new Date(now).toISOString() });
  }

  /** The run's waiting changes, left waiting (for a view of the run as it stands). */
  peek(id: string): StepChanges | undefined {
    const w = this.waiting.get(id);
    return w && { working: [...w.working], outcomes: new Map(w.outcomes) };
  }

  /** The run's waiting changes, for a save that is about to happen (taken: put them back if it fails). */
  take(id: string): StepChanges {
    const w = this.waiting.get(id);
    if (!w) return { working: [], outcomes: new Map() };
    clearTimeout(w.timer);
    this.waiting.delete(id);
    return { working: w.working, outcomes: w.outcomes };
  }

  /** Puts changes back after the save that took them failed (an outcome collected since wins). */
  putBack(id: string, taken: StepChanges): void {
    if (!taken.working.length && !taken.outcomes.size) return;
    const w = this.changes(id);
    w.working.push(...taken.working);
    for (const [i, o] of taken.outcomes) if (!w.outcomes.has(i)) w.outcomes.set(i, o);
  }

  /** Saves the run's waiting changes now. */
  async flush(id: string): Promise<void> {
    const taken = this.take(id);
    if (!taken.working.length && !taken.outcomes.size) return;
    try {
      const saved = await this.store.updateBatched((s) => {
        const run = s.runs?.find((r) => r.id === id);
        if (!run) return undefined;
        applyChanges(run, taken);
        return savedOutcomes(run, taken);
      });
      if (saved?.steps.length) this.saved?.(id, saved);
    } catch (e) {
      // Tried again with the run's next save or after the delay.
      this.putBack(id, taken);
      this.failed(id, e as Error);
    }
  }

  private changes(id: string): StepChanges {
    let w = this.waiting.get(id);
    if (!w) {
      const timer = setTimeout(() => void this.flush(id), this.delayMs);
      timer.unref?.();
      this.waiting.set(id, (w = { working: [], outcomes: new Map(), timer }));
    }
    return w;
  }
}
