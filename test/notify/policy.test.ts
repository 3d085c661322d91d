import { describe, expect, it } from 'vitest';
import { Episodes, SAME_EVENT_MS } from '../../src/notify/episodes.js';
import { heldBack, inQuietHours, parseQuietHours } from '../../src/notify/policy.js';

const at = (hhmm: string): Date => new Date(`2026-12-06T${hhmm}:00`);

describe('quiet hours and --notify-min', () => {
  it('parses HH:MM-HH:MM and refuses anything else', () => {
    expect(parseQuietHours('22:00-07:30')).toEqual({ from: 1320, to: 450 });
    expect(parseQuietHours('9:05-17:00')).toEqual({ from: 545, to: 1020 });
    for (const bad of ['22-7', '24:00-07:00', '22:00-22:00', '22:00', '22:00-07:00-08:00', 'ab:cd-07:00']) expect(parseQuietHours(bad)).toBeUndefined();
  });

  it('quiet hours that run past midnight hold from their start up to (not including) their end', () => {
    const q = parseQuietHours('22:00-07:30')!;
    expect([at('21:59'), at('22:00'), at('03:00'), at('07:29'), at('07:30'), at('12:00')].map((d) => inQuietHours(q, d))).toEqual([
      false,
      true,
      true,
      true,
      false,
      false,
    ]);
    const day = parseQuietHours('12:00-13:00')!;
    expect([at('11:59'), at('12:00'), at('12:59'), at('13:00')].map((d) => inQuietHours(day, d))).toEqual([false, true, true, false]);
  });

  it('in quiet hours only urgent alerts are pushed; below --notify-min nothing is', () => {
    const policy = { min: 'warning' as const, quiet: parseQuietHours('22:00-07:00')! };
    expect(heldBack(policy, 'urgent', at('23:00'))).toBeUndefined();
    expect(heldBack(policy, 'warning', at('23:00'))).toBe('quiet hours');
    expect(heldBack(policy, 'warning', at('12:00'))).toBeUndefined();
    expect(heldBack(policy, 'info', at('12:00'))).toBe('below --notify-min');
    expect(heldBack({ min: 'urgent' }, 'warning', at('12:00'))).toBe('below --notify-min');
    expect(heldBack({ min: 'info' }, 'info', at('12:00'))).toBeUndefined();
  });
});

describe('one alert per event', () => {
  it('a named episode is told once, however often it is seen; another episode is a new event', () => {
    const e = new Episodes();
    const n = { agent: 'Agent_1', reason: 'stuck', episode: '2026-12-06T07:00:00Z' };
    expect(e.first(n, 0)).toBe(true);
    for (let i = 1; i < 50; i++) expect(e.first(n, i * 60_000)).toBe(false);
    expect(e.first({ ...n, episode: '2026-12-06T09:00:00Z' }, 3_000_000)).toBe(true);
    expect(e.first({ ...n, reason: 'crashed' }, 3_000_000)).toBe(true);
    expect(e.first({ ...n, agent: 'Agent_2' }, 3_000_000)).toBe(true);
  });

  it('without an episode, the same agent and reason within a minute is the same event (a status that flaps on each look)', () => {
    const e = new Episodes();
    const n = { agent: 'Agent_1', reason: 'permission' };
    expect(e.first(n, 0)).toBe(true);
    expect(e.first(n, 1000)).toBe(false);
    expect(e.first(n, SAME_EVENT_MS - 1)).toBe(false);
    expect(e.first(n, SAME_EVENT_MS + 1)).toBe(true);
  });

  it('the memory stays bounded', () => {
    const e = new Episodes();
    for (let i = 0; i < 5000; i++) e.first({ agent: `A${i}`, reason: 'stuck', episode: 'x' }, i);
    expect((e as unknown as { told: Map<string, number> }).told.size).toBeLessThanOrEqual(2000);
  });
});
