import { describe, expect, it } from 'vitest';
import type { AgentRecord, State } from '../../src/store/types.js';
import { emptyState } from '../../src/store/types.js';
import { applyResume, effectiveLimits, reachedLimit, refusal } from '../../src/supervisor/budgets.js';
import { usageView } from '../../src/supervisor/usage.js';
import { agentRecord } from '../support/records.js';

const prices = { m: { input: 1, output: 1, cache_read: 1, cache_write: 1 } };
const usage = (tokens: number) => usageView(new Map([['m', { input: tokens, output: 0, cache_read: 0, cache_creation: 0 }]]), prices);
const T0 = Date.parse('2026-12-01T10:00:00Z');
const created = new Date(T0).toISOString();

const agent = (extra: Partial<AgentRecord> = {}): AgentRecord => agentRecord({ since: created, createdAt: created, ...extra });

describe('budgets', () => {
  it("an agent's own limit wins over the server's, and null lifts the server's", () => {
    const config = { maxCostPerAgentUsd: 5, maxTokensPerAgent: 1000, maxTotalCostUsd: 50 };
    expect(effectiveLimits(agent(), config)).toEqual({ maxCostUsd: 5, maxTokens: 1000, timeoutMinutes: undefined, maxTotalCostUsd: 50 });
    expect(effectiveLimits(agent({ limits: { maxCostUsd: 1, maxTokens: null } }), config)).toMatchObject({ maxCostUsd: 1, maxTokens: undefined });
    expect(effectiveLimits(agent(), config, { crewLimits: { maxTotalCostUsd: 80 } }).maxTotalCostUsd).toBe(80);
  });

  it('cost, tokens, crew cost and time are each reached at their limit', () => {
    const at = (limits: Parameters<typeof reachedLimit>[0]['limits'], tokens: number, crew = 0, now = T0) =>
      reachedLimit({ limits, usage: usage(tokens), crewCostUsd: crew, createdAt: created, now });
    expect(at({ maxCostUsd: 0.001 }, 999)).toBeUndefined();
    expect(at({ maxCostUsd: 0.001 }, 1000)).toEqual({ reason: 'budget', limit: 'max_cost_usd', value: 0.001, used: 0.001 });
    expect(at({ maxTokens: 500 }, 501)).toMatchObject({ limit: 'max_tokens', used: 501 });
    expect(at({ maxTotalCostUsd: 2 }, 0, 2.5)).toMatchObject({ limit: 'max_total_cost', used: 2.5 });
    expect(at({ timeoutMinutes: 30 }, 0, 0, T0 + 29 * 60_000)).toBeUndefined();
    expect(at({ timeoutMinutes: 30 }, 0, 0, T0 + 30 * 60_000)).toMatchObject({ reason: 'timeout', limit: 'timeout_minutes' });
  });

  it('unpriced tokens never count as money, but do count as tokens', () => {
    const unpriced = usageView(new Map([['other', { input: 10_000, output: 0, cache_read: 0, cache_creation: 0 }]]), prices);
    expect(reachedLimit({ limits: { maxCostUsd: 0.0001 }, usage: unpriced, crewCostUsd: null, createdAt: created, now: T0 })).toBeUndefined();
    expect(reachedLimit({ limits: { maxTokens: 100 }, usage: unpriced, crewCostUsd: null, createdAt: created, now: T0 })).toMatchObject({
      limit: 'max_tokens',
    });
  });

  it('the refusal names the limit and how to lift it', () => {
    expect(refusal('Agent_1', { limit: 'max_cost_usd', value: 0.05, used: 0.0612 })).toMatch(
      /Agent_1 is paused: its cost reached max_cost_usd \(\$0\.0500; used \$0\.0612\).*resume_agent/,
    );
  });

  it('resume raises the limit that was reached, lifts it without raise_to, and refuses a raise below what is used', () => {
    const hold = { reason: 'budget' as const, limit: 'max_cost_usd' as const, value: 1, used: 1.2, at: created };
    const state: State = emptyState();
    const a = agent({ hold, limits: { maxCostUsd: 1 } });
    expect(() => applyResume(state, a, 1.1)).toThrow(/does not lift max_cost_usd/);
    expect(applyResume(state, a, 3)).toEqual({ limit: 'max_cost_usd', now: 3 });
    expect(a.hold).toBeUndefined();
    expect(a.limits?.maxCostUsd).toBe(3);
    const b = agent({ hold });
    applyResume(state, b, undefined);
    expect(b.limits?.maxCostUsd).toBeNull();
    expect(() => applyResume(state, agent(), 3)).toThrow(/not paused/);
    const limited = agent({
      status: 'paused',
      usageLimit: { account: 'acct-1', kind: 'usage_limit', resumesAt: created, at: created, failureTs: 0, paused: true },
    });
    expect(() => applyResume(state, limited, undefined)).toThrow(/paused by an API usage limit until .*resumes it then by itself/);
  });

  it('the crew-wide limit is raised for the crew, never silently lifted', () => {
    const hold = { reason: 'budget' as const, limit: 'max_total_cost' as const, value: 10, used: 10.5, at: created };
    const state: State = emptyState();
    expect(() => applyResume(state, agent({ hold }), undefined)).toThrow(/pass raise_to with the new crew limit/);
    applyResume(state, agent({ hold }), 20);
    expect(state.crewLimits?.maxTotalCostUsd).toBe(20);
  });
});
