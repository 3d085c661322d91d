import { describe, expect, it } from 'vitest';
import { StartQueue } from '../../src/supervisor/start-queue.js';

describe('the crew-wide start queue (--max-starting)', () => {
  it('starts 10 agents at most 3 at once, first come first served, telling the waiting ones where they stand', async () => {
    const q = new StartQueue(3, 10);
    let running = 0;
    let most = 0;
    const order: number[] = [];
    const told: string[] = [];
    const starts = Array.from({ length: 10 }, (_, i) =>
      q.run(
        `Agent_${i + 1}`,
        async () => {
          most = Math.max(most, ++running);
          order.push(i + 1);
          await new Promise((r) => setTimeout(r, 30));
          running--;
          return i + 1;
        },
        (p) => told.push(p.message),
      ),
    );
    expect(q.counts).toEqual({ starting: 3, queued: 7 });
    expect(await Promise.all(starts)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(most).toBe(3);
    expect(order).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(told).toContain('Agent_4 waits to start: 1 in line, 3 starting (--max-starting 3)');
    expect(told.some((m) => m.startsWith('Agent_1 '))).toBe(false);
    expect(q.counts).toEqual({ starting: 0, queued: 0 });
  });

  it('a start that fails frees its place', async () => {
    const q = new StartQueue(1);
    await expect(q.run('A', () => Promise.reject(new Error('no')))).rejects.toThrow('no');
    expect(await q.run('B', async () => 'ok')).toBe('ok');
  });
});
