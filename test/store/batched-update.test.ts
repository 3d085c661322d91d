import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { jsonCodec, type StateCodec } from '../../src/store/codec.js';
import { StateStore } from '../../src/store/state-store.js';
import type { State } from '../../src/store/types.js';

const base = mkdtempSync(join(tmpdir(), 'tabcrew-batch-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('batched state updates', () => {
  it('saves updates that wait for the lock together, once, each with its own result', async () => {
    const store = new StateStore(join(base, 'a'));
    await store.update((s) => void (s.nextAgentNumber = 1));
    const before = (await store.read()).generation;
    const results = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        store.updateBatched((s) => {
          s.nextAgentNumber++;
          return i;
        }),
      ),
    );
    expect(results).toEqual(Array.from({ length: 16 }, (_, i) => i));
    const after = await new StateStore(join(base, 'a')).read();
    expect(after.nextAgentNumber).toBe(17);
    // One save for the sixteen (the first may have gone alone, before the others queued).
    expect(after.generation - before).toBeLessThanOrEqual(2);
  });

  it('a change that throws fails alone: the others of its batch are saved, and its partial change is not', async () => {
    const store = new StateStore(join(base, 'b'));
    await store.update(() => undefined);
    const outcomes = await Promise.allSettled([
      store.updateBatched((s) => void s.sessions.push({ id: 's-one', name: 'one', root: '/tmp', createdAt: new Date().toISOString() })),
      store.updateBatched((s) => {
        s.nextAgentNumber = 99;
        throw new Error('refused');
      }),
      store.updateBatched((s) => void s.sessions.push({ id: 's-two', name: 'two', root: '/tmp', createdAt: new Date().toISOString() })),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason.message).toBe('refused');
    const state = await new StateStore(join(base, 'b')).read();
    expect(state.sessions.map((s) => s.name)).toEqual(['one', 'two']);
    expect(state.nextAgentNumber).not.toBe(99);
  });

  it('keeps the order of updates and batched updates as they were called', async () => {
    const store = new StateStore(join(base, 'c'));
    const seen: number[] = [];
    await Promise.all([
      store.update((s) => void (s.nextAgentNumber = 1)),
      store.updateBatched((s) => void (s.nextAgentNumber *= 10)),
      store.update((s) => void (s.nextAgentNumber += 5)),
      store.updateBatched((s) => void (s.nextAgentNumber *= 2)),
    ]).then(async () => seen.push((await store.read()).nextAgentNumber));
    expect(seen).toEqual([30]);
  });

  it('reads made while a save is being written are answered from memory with the state before it, the file not decoded again', async () => {
    let decoded = 0;
    const counting: StateCodec = { ...jsonCodec, decode: (bytes, file) => (decoded++, jsonCodec.decode(bytes, file)) };
    const store = new StateStore(join(base, 'd'), counting);
    await store.update((s) => void (s.nextAgentNumber = 1));
    await store.read();
    const during: Promise<State>[] = [];
    // Runs inside the save, just before the new file is written: these reads overlap the write.
    store.setBeforeSave(() => {
      for (let i = 0; i < 8; i++) during.push(store.read());
    });
    const before = decoded;
    await store.update((s) => void (s.nextAgentNumber = 2));
    const seen = await Promise.all(during);
    expect(seen.map((s) => s.nextAgentNumber)).toEqual(Array.from({ length: 8 }, () => 1));
    expect(decoded - before).toBe(0);
    expect((await store.read()).nextAgentNumber).toBe(2);
    expect(decoded - before).toBe(0);
  });
});
