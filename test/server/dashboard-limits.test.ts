import { describe, expect, it } from 'vitest';
// @ts-expect-error: the page's own module, plain JavaScript for the browser.
import { countdown, limitText } from '../../src/server/http/dashboard/limits.js';

describe("the dashboard's usage-limit banner", () => {
  const now = Date.parse('2026-12-06T07:00:00Z');
  it('counts down to the reset and names the paused agents while the account is limited', () => {
    const limit = { state: 'limited', kind: 'usage_limit', resumes_at: '2026-12-06T07:03:05Z', agents_paused: ['Agent_1', 'Agent_3'], queued: 2 };
    const text = limitText(limit, now);
    expect(text).toMatch(/^Usage limit reached: no agent starts and no message is typed\. Resumes in 3 min 05 s \(.+\)\. Paused: Agent_1, Agent_3\. 2 queued/);
    expect(limitText({ ...limit, kind: 'rate_limit' }, now)).toMatch(/^API rate limit \(429\)/);
    expect(limitText({ ...limit, state: 'resuming' }, now)).toMatch(/^Usage limit reset: resuming/);
  });

  it('shows nothing when the account is ok', () => {
    expect(limitText({ state: 'ok', agents_paused: [], queued: 0 }, now)).toBe('');
    expect(limitText(undefined, now)).toBe('');
  });

  it('reads hours, minutes and seconds', () => {
    expect([countdown(12_400), countdown(185_000), countdown(3_840_000), countdown(-5)]).toEqual(['12 s', '3 min 05 s', '1 h 04 min', '0 s']);
  });
});
