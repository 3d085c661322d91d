import { describe, expect, it } from 'vitest';
import { TabGate } from '../../src/supervisor/tab-gate.js';

/** Resolves with the order in which the seats' waits ended. */
function track(waits: Promise<void>[], order: number[]) {
  return Promise.all(waits.map((w, i) => w.then(() => order.push(i))));
}

describe('tabs of agents launched together are asked for together', () => {
  it('each launch waits until every launch of the group is ready for its tab', async () => {
    const gate = new TabGate(3);
    const [a, b, c] = [gate.seat(), gate.seat(), gate.seat()];
    const opened: number[] = [];
    const waits = track([a.ready(), b.ready()], opened);
    await new Promise((r) => setTimeout(r, 20));
    expect(opened).toEqual([]);
    await Promise.all([waits, c.ready()]);
    expect(opened.sort()).toEqual([0, 1]);
  });

  it('a launch that drops out (failed, skipped, or done) holds nobody; leaving twice or after ready counts once', async () => {
    const gate = new TabGate(3);
    const [a, b, c] = [gate.seat(), gate.seat(), gate.seat()];
    const wait = a.ready();
    a.leave();
    b.leave();
    b.leave();
    let open = false;
    void wait.then(() => (open = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(open).toBe(false);
    c.leave();
    await wait;
  });

  it('a launch slow to get there holds the others no longer than the bound', async () => {
    const gate = new TabGate(2, 30);
    const started = Date.now();
    await gate.seat().ready();
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('the tabs of agents launched together are recorded together', () => {
  it('a ready launch waits for the launches still starting, and all go as the last one gets there', async () => {
    const gate = new TabGate(3, 500, 10_000);
    const [a, b, c] = [gate.seat(), gate.seat(), gate.seat()];
    await Promise.all([a.ready(), b.ready(), c.ready()]);
    const recorded: number[] = [];
    const waits = track([a.record(), b.record()], recorded);
    await new Promise((r) => setTimeout(r, 20));
    expect(recorded).toEqual([]);
    const started = Date.now();
    await Promise.all([waits, c.record()]);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(recorded.sort()).toEqual([0, 1]);
  });

  it('a launch that drops out holds no record; one still starting holds them no longer than the bound, and the next ones wait afresh', async () => {
    const gate = new TabGate(4, 500, 40);
    const [a, b, c, d] = [gate.seat(), gate.seat(), gate.seat(), gate.seat()];
    a.leave();
    const started = Date.now();
    await b.record();
    expect(Date.now() - started).toBeGreaterThanOrEqual(35);
    const recorded: number[] = [];
    const wait = track([c.record()], recorded);
    await new Promise((r) => setTimeout(r, 10));
    expect(recorded).toEqual([]);
    d.leave();
    await wait;
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
