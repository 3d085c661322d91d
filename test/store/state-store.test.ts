import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
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

  it('keeps the two previous good states beside the newest', async () => {
    const store = new StateStore(join(base, 'd'));
    for (let i = 2; i <= 5; i++) {
      await store.update((s) => {
        s.nextAgentNumber = i;
      });
    }
    const numbers = store.generations.map((f) => (JSON.parse(readFileSync(f, 'utf8')) as { nextAgentNumber: number }).nextAgentNumber);
    expect(numbers).toEqual([5, 4, 3]);
    expect(readdirSync(store.dir).sort()).toEqual(['state.json', 'state.json.1', 'state.json.2', 'state.json.mark']);
  });

  it('makes its own state dir private but leaves the mode of a shared dir alone', async () => {
    const own = join(base, 'e');
    mkdirSync(own, { mode: 0o755 });
    chmodSync(own, 0o755);
    await new StateStore(own).init();
    expect(statSync(own).mode & 0o777).toBe(0o700);

    const shared = join(base, 'f');
    mkdirSync(shared);
    chmodSync(shared, 0o755);
    writeFileSync(join(shared, 'notes.txt'), 'not tabcrew');
    const store = new StateStore(shared);
    await store.update(() => undefined);
    expect(statSync(shared).mode & 0o777).toBe(0o755);
    expect(statSync(store.file).mode & 0o777).toBe(0o600);
    expect(store.notices.join()).toMatch(/can be listed by other users .* chmod 700/);
  });
});

describe('a snapshot of the state (a status view reads it without a copy)', () => {
  it('is the same object while the file is unchanged, and an update after it changes a copy: the snapshot stays as it was', async () => {
    const store = new StateStore(join(base, 'snapshot'));
    await store.update((s) => {
      s.nextAgentNumber = 3;
    });
    const first = await store.snapshot();
    expect(await store.snapshot()).toBe(first);
    await store.update((s) => {
      s.nextAgentNumber = 4;
    });
    expect(first.nextAgentNumber).toBe(3);
    expect((await store.snapshot()).nextAgentNumber).toBe(4);
    expect((await new StateStore(join(base, 'snapshot')).read()).nextAgentNumber).toBe(4);
  });

  it('leaves updates of a state nobody took a snapshot of uncopied, and a read still gets a copy of its own', async () => {
    const store = new StateStore(join(base, 'snapshot-2'));
    await store.update((s) => {
      s.nextAgentNumber = 5;
    });
    const copy = await store.read();
    copy.nextAgentNumber = 99;
    expect((await store.snapshot()).nextAgentNumber).toBe(5);
  });
});
