import { describe, expect, it } from 'vitest';
import { assessHealth, MAX_RELAUNCHES, RELAUNCH_BACKOFF_MS, relaunchDecision } from '../../src/supervisor/health.js';

const T0 = Date.parse('2026-12-01T10:00:00Z');
const MIN = 60_000;
const base = { statusSince: T0, now: T0, stuckAfterMs: 10 * MIN, waitingAfterMs: 5 * MIN, lastProgressAt: T0 };

describe('health', () => {
  it('a busy agent with no progress for --stuck-after is stuck, since its last progress', () => {
    expect(assessHealth({ ...base, status: 'busy', now: T0 + 9 * MIN }).health).toBe('ok');
    const h = assessHealth({ ...base, status: 'busy', lastProgressAt: T0 + 2 * MIN, now: T0 + 12 * MIN });
    expect(h).toMatchObject({ health: 'stuck', since: new Date(T0 + 2 * MIN).toISOString() });
    expect(h.reason).toMatch(/no new transcript line or hook event for 10m/);
  });

  it('progress resets the stuck clock', () => {
    expect(assessHealth({ ...base, status: 'busy', lastProgressAt: T0 + 11 * MIN, now: T0 + 12 * MIN }).health).toBe('ok');
  });

  it('an idle agent is never stuck, however long it waits', () => {
    expect(assessHealth({ ...base, status: 'idle', now: T0 + 600 * MIN }).health).toBe('ok');
  });

  it('a permission dialog open longer than --waiting-after is waiting_long', () => {
    expect(assessHealth({ ...base, status: 'waiting_permission', now: T0 + 4 * MIN }).health).toBe('ok');
    expect(assessHealth({ ...base, status: 'waiting_permission', now: T0 + 6 * MIN })).toMatchObject({
      health: 'waiting_long',
      since: new Date(T0).toISOString(),
    });
  });

  it('a crash outranks everything and carries its reason', () => {
    expect(assessHealth({ ...base, status: 'exited', crash: { since: T0, reason: 'exit 137' } })).toMatchObject({ health: 'crashed', reason: 'exit 137' });
  });
});

describe('relaunch backoff', () => {
  it('waits the backoff after the exit, then after each attempt, and gives up after the last', () => {
    expect(relaunchDecision({ attempts: 0, exitedAt: T0, now: T0 + 1000 })).toEqual({ kind: 'wait', untilMs: T0 + RELAUNCH_BACKOFF_MS[0] });
    expect(relaunchDecision({ attempts: 0, exitedAt: T0, now: T0 + RELAUNCH_BACKOFF_MS[0] })).toEqual({ kind: 'relaunch', attempt: 1 });
    const last = T0 + 5000;
    expect(relaunchDecision({ attempts: 1, exitedAt: T0, lastAttemptAt: last, now: last + RELAUNCH_BACKOFF_MS[1] - 1 }).kind).toBe('wait');
    expect(relaunchDecision({ attempts: 1, exitedAt: T0, lastAttemptAt: last, now: last + RELAUNCH_BACKOFF_MS[1] })).toEqual({ kind: 'relaunch', attempt: 2 });
    expect(relaunchDecision({ attempts: MAX_RELAUNCHES, exitedAt: T0, now: T0 + 3_600_000 })).toEqual({ kind: 'give_up' });
  });
});
