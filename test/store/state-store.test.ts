import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StateStore, StateUnreadableError } from '../../src/store/state-store.js';

const base = mkdtempSync(join(tmpdir(), 'tabcrew-store-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('the state store', () => {
  it('starts empty and keeps what an update leaves', async () => {
    const store = new StateStore(join(base, 'a'));
    expect((await store.read()).agents).toEqual([]);
    await store.update((s) => {
      s.nextAgentNumber = 7;
    });
    expect((await new StateStore(join(base, 'a')).read()).nextAgentNumber).toBe(7);
  });

  it('loses no update when two stores on one dir change it at once', async () => {
    const dir = join(base, 'b');
    const one = new StateStore(dir);
    // Two store objects stand for two tabcrew processes: each has its own in-memory queue.
    const two = new StateStore(dir);
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        (i % 2 ? one : two).update((s) => {
          s.nextAgentNumber++;
        }),
      ),
    );
    expect((await one.read()).nextAgentNumber).toBe(41);
  });

  it('refuses a state file it cannot read and leaves it untouched', async () => {
    const store = new StateStore(join(base, 'c'));
    await store.init();
    writeFileSync(store.file, '{broken');
    await expect(store.update(() => undefined)).rejects.toBeInstanceOf(StateUnreadableError);
    expect(readFileSync(store.file, 'utf8')).toBe('{broken');
  });
});
