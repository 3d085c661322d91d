import type { RunRecord, RunStep } from '../store/runs.js';
import type { StateStore } from '../store/state-store.js';
import type { State } from '../store/types.js';

/** A coordination run's record in the state; a run that is not there is a bug, not a user error. */
export function runIn(state: Readonly<State>, id: string): RunRecord {
  const run = state.runs?.find((r) => r.id === id);
  if (!run) throw new Error(`coordination run ${id} is not in the state`);
  return run;
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
    const run = s.runs?.find((r) => r.id === id);
    const step = run?.steps[i];
    if (!run || !step) throw new Error(`coordination run ${id} has no step ${i}`);
    patch(step);
    return { step: structuredClone(step), sessionId: run.sessionId };
  });
}
