import { describe, expect, it } from 'vitest';
import type { RuntimeActivity } from '../../src/supervisor/runtime-watch.js';
import { SpoolChanges } from '../../src/supervisor/spool-changes.js';

/** A runtime watch that reports what the test says, and how many listen. */
function activity() {
  const listeners = new Set<(a: RuntimeActivity) => void>();
  return {
    on: (l: (a: RuntimeActivity) => void) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    report: (a: RuntimeActivity) => [...listeners].forEach((l) => l(a)),
    get listening() {
      return listeners.size;
    },
  };
}

describe('waiting for a spool change', () => {
  it("ends at the agent's hook write, not at the time limit; other agents' writes do not end it", async () => {
    const a = activity();
    const changes = new SpoolChanges(a);
    const t0 = performance.now();
    let ended = false;
    const wait = changes.wait('conv-1', 5_000).then(() => (ended = true));
    a.report({ what: 'spool', claudeSessionId: 'conv-2' });
    a.report({ what: 'permissions', claudeSessionId: 'conv-1' });
    await new Promise((r) => setTimeout(r, 20));
    expect(ended).toBe(false);
    a.report({ what: 'spool', claudeSessionId: 'conv-1' });
    await wait;
    expect(performance.now() - t0).toBeLessThan(1_000);
  });

  it('ends at its time limit when no hook writes, and with no runtime watch at all', async () => {
    const t0 = performance.now();
    await new SpoolChanges(activity()).wait('conv-1', 50);
    await new SpoolChanges(undefined).wait('conv-1', 50);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(95);
  });

  it('listens once for every wait at a time, and stops listening a while after the last one', async () => {
    const a = activity();
    const changes = new SpoolChanges(a);
    const waits = ['c1', 'c2', 'c3'].map((id) => changes.wait(id, 5_000));
    expect(a.listening).toBe(1);
    for (const id of ['c1', 'c2', 'c3']) a.report({ what: 'spool', claudeSessionId: id });
    await Promise.all(waits);
    expect(a.listening).toBe(1); // kept a moment for the next wait
    await new Promise((r) => setTimeout(r, 5_200));
    expect(a.listening).toBe(0);
  }, 10_000);
});
