import { describe, expect, it } from 'vitest';
import { KeyedMutex } from '../../src/supervisor/timing.js';

describe('KeyedMutex stamps', () => {
  it('a key free at both moments with the same stamp was not held in between; any run between changes the stamp', async () => {
    const lock = new KeyedMutex();
    const before = lock.stamp('Agent_1');
    expect(lock.isFree('Agent_1')).toBe(true);
    // A verb that starts and ends between the two looks leaves the key free but changes its stamp.
    await lock.run('Agent_1', async () => undefined);
    expect(lock.isFree('Agent_1')).toBe(true);
    expect(lock.stamp('Agent_1')).not.toBe(before);
    const again = lock.stamp('Agent_1');
    await lock.run('Agent_2', async () => undefined);
    expect(lock.stamp('Agent_1')).toBe(again);
  });

  it('a key held or waited for is not free', async () => {
    const lock = new KeyedMutex();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const held = lock.run('Agent_1', () => gate);
    expect(lock.isFree('Agent_1')).toBe(false);
    release();
    await held;
    expect(lock.isFree('Agent_1')).toBe(true);
  });
});
