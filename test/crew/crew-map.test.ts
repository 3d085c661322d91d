import { describe, expect, it } from 'vitest';
import { CrewMap, MAX_SESSIONS_PER_NODE } from '../../src/crew/crew-map.js';
import type { StateStore } from '../../src/store/state-store.js';

/** A store that only counts writes: what the map costs per answer a node gives. */
function countingStore() {
  const state: { crew?: { sessions: unknown[] }; sessions: unknown[] } = { sessions: [] };
  let writes = 0;
  const store = {
    read: async () => state,
    update: async (fn: (s: typeof state) => void) => {
      writes++;
      fn(state);
    },
  } as unknown as StateStore;
  return { store, writes: () => writes, state };
}

describe('the crew map', () => {
  it('sessions learned again from status answers, in any order, keep their place and cost no state write', async () => {
    const s = countingStore();
    const map = new CrewMap(() => s.store);
    await map.load();
    await map.learnSessions('n1', [{ id: 's-1', name: 'a' }], true);
    await map.learnSessions('n2', [{ id: 's-2', name: 'b' }], true);
    await map.learnSessions('n3', [{ id: 's-3', name: 'c' }], true);
    expect(s.writes()).toBe(3);
    for (const [node, id, name] of [
      ['n2', 's-2', 'b'],
      ['n1', 's-1', 'a'],
      ['n3', 's-3', 'c'],
      ['n1', 's-1', 'a'],
    ])
      await map.learnSessions(node, [{ id, name }], false);
    expect(s.writes()).toBe(3);
    expect(map.list().map((x) => x.id)).toEqual(['s-1', 's-2', 's-3']);
  });

  it("a node's whole list replaces what was known of that node only", async () => {
    const s = countingStore();
    const map = new CrewMap(() => s.store);
    await map.load();
    await map.learnSessions(
      'n1',
      [
        { id: 's-1', name: 'a' },
        { id: 's-4', name: 'd' },
      ],
      true,
    );
    await map.learnSessions('n2', [{ id: 's-2', name: 'b' }], true);
    await map.learnSessions(
      'n1',
      [
        { id: 's-4', name: 'd2' },
        { id: 's-5', name: 'e' },
      ],
      true,
    );
    expect(map.list()).toEqual([
      { id: 's-4', name: 'd2', node: 'n1' },
      { id: 's-2', name: 'b', node: 'n2' },
      { id: 's-5', name: 'e', node: 'n1' },
    ]);
  });

  it("learning a flood of one node's sessions is linear and kept to the cap; the rest is counted", async () => {
    const s = countingStore();
    const map = new CrewMap(() => s.store);
    await map.load();
    await map.learnSessions('n2', [{ id: 's-other', name: 'other' }], true);
    const flood = Array.from({ length: 40_000 }, (_, i) => ({ id: `s-${i}`, name: `f${i}` }));
    const started = performance.now();
    const first = await map.learnSessions('n1', flood, true);
    const again = await map.learnSessions('n1', flood, false);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(first).toEqual({ over: 40_000 - MAX_SESSIONS_PER_NODE, refused: [] });
    expect(again.over).toBe(40_000 - MAX_SESSIONS_PER_NODE);
    expect(map.list()).toHaveLength(MAX_SESSIONS_PER_NODE + 1);
    expect(s.writes()).toBe(2);
  });

  it('an id another node or the local machine holds is refused, not taken over', async () => {
    const s = countingStore();
    const map = new CrewMap(() => s.store);
    await map.load();
    await map.learnSessions('n1', [{ id: 's-1', name: 'a' }], true);
    const learned = await map.learnSessions(
      'n2',
      [
        { id: 's-1', name: 'stolen' },
        { id: 's-local', name: 'mine' },
        { id: 's-2', name: 'b' },
      ],
      true,
      (id) => id === 's-local',
    );
    expect(learned.refused).toEqual(['s-1', 's-local']);
    expect(map.nodeOfSessionId('s-1')).toBe('n1');
    expect(map.list()).toEqual([
      { id: 's-1', name: 'a', node: 'n1' },
      { id: 's-2', name: 'b', node: 'n2' },
    ]);
    expect(map.rememberId('run', 'r-1', 'n1')).toBe(true);
    expect(map.rememberId('run', 'r-1', 'n2')).toBe(false);
    expect(map.nodeOfId('run', 'r-1')).toBe('n1');
  });
});
