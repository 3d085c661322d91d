import type { Config } from '../config.js';
import type { AgentHold, AgentLimits, AgentRecord, LimitName, State } from '../store/types.js';
import { UserError } from './errors.js';
import type { UsageView } from './usage.js';

/*
 * Budgets: which limit an agent has reached, the words that name it, and what resume_agent
 * does to it. No clock or I/O here: the keeper and the supervisor pass what they observed.
 */

/** An agent record's limits from create_agent's input; nothing when none is given. */
export function limitsOf(input: { max_cost_usd?: number; max_tokens?: number; timeout_minutes?: number; interrupt?: boolean }): { limits?: AgentLimits } {
  const limits: AgentLimits = {};
  if (input.max_cost_usd !== undefined) limits.maxCostUsd = input.max_cost_usd;
  if (input.max_tokens !== undefined) limits.maxTokens = input.max_tokens;
  if (input.timeout_minutes !== undefined) limits.timeoutMinutes = input.timeout_minutes;
  if (input.interrupt) limits.interrupt = true;
  return Object.keys(limits).length ? { limits } : {};
}

export interface EffectiveLimits {
  maxCostUsd?: number;
  maxTokens?: number;
  timeoutMinutes?: number;
  maxTotalCostUsd?: number;
}

/** The agent's own limits over the server-wide ones (null in the agent's lifts the server's). */
export function effectiveLimits(
  agent: Pick<AgentRecord, 'limits'>,
  config: Pick<Config, 'maxCostPerAgentUsd' | 'maxTokensPerAgent' | 'maxTotalCostUsd'>,
  state?: Pick<State, 'crewLimits'>,
): EffectiveLimits {
  const own: AgentLimits = agent.limits ?? {};
  const pick = (mine: number | null | undefined, server: number | undefined): number | undefined => (mine === null ? undefined : (mine ?? server));
  return {
    maxCostUsd: pick(own.maxCostUsd, config.maxCostPerAgentUsd),
    maxTokens: pick(own.maxTokens, config.maxTokensPerAgent),
    timeoutMinutes: pick(own.timeoutMinutes, undefined),
    maxTotalCostUsd: state?.crewLimits?.maxTotalCostUsd ?? config.maxTotalCostUsd,
  };
}

export interface Reached {
  reason: AgentHold['reason'];
  limit: LimitName;
  value: number;
  used: number;
}

/**
 * The first limit the agent has reached, if any. Cost counts priced models only: an
 * unpriced model's tokens are not guessed at (the token limit still sees them).
 */
export function reachedLimit(input: {
  limits: EffectiveLimits;
  usage: UsageView;
  crewCostUsd: number | null;
  createdAt: string;
  now: number;
}): Reached | undefined {
  const { limits, usage } = input;
  const cost = usage.cost_usd ?? 0;
  if (limits.maxCostUsd !== undefined && cost >= limits.maxCostUsd) return { reason: 'budget', limit: 'max_cost_usd', value: limits.maxCostUsd, used: cost };
  if (limits.maxTokens !== undefined && usage.total_tokens >= limits.maxTokens) {
    return { reason: 'budget', limit: 'max_tokens', value: limits.maxTokens, used: usage.total_tokens };
  }
  const crew = input.crewCostUsd ?? 0;
  if (limits.maxTotalCostUsd !== undefined && crew >= limits.maxTotalCostUsd) {
    return { reason: 'budget', limit: 'max_total_cost', value: limits.maxTotalCostUsd, used: crew };
  }
  if (limits.timeoutMinutes !== undefined) {
    const minutes = (input.now - Date.parse(input.createdAt)) / 60_000;
    if (minutes >= limits.timeoutMinutes)
      return { reason: 'timeout', limit: 'timeout_minutes', value: limits.timeoutMinutes, used: Math.round(minutes * 10) / 10 };
  }
  return undefined;
}

/** "its cost reached max_cost_usd ($0.05; used $0.0612)", for refusals and notices. */
export function describeLimit(r: Pick<Reached, 'limit' | 'value' | 'used'>): string {
  const usd = (n: number): string => `$${n < 1 ? n.toFixed(4) : n.toFixed(2)}`;
  switch (r.limit) {
    case 'max_cost_usd':
      return `its cost reached max_cost_usd (${usd(r.value)}; used ${usd(r.used)})`;
    case 'max_tokens':
      return `its tokens reached max_tokens (${r.value}; used ${r.used})`;
    case 'max_total_cost':
      return `the crew's cost reached --max-total-cost (${usd(r.value)}; used ${usd(r.used)})`;
    case 'timeout_minutes':
      return `it ran for timeout_minutes (${r.value} min; ${r.used} min so far)`;
  }
}

export function refusal(agent: string, r: Pick<Reached, 'limit' | 'value' | 'used'>): string {
  return `${agent} is paused: ${describeLimit(r)}; nothing was typed. Call resume_agent {agent: "${agent}", raise_to: N} to raise ${r.limit}, or without raise_to to lift it.`;
}

/**
 * What resume_agent changes: the agent's limit raised to `raiseTo` (it must be above what is
 * used) or lifted; the crew-wide limit only by raising it. Mutates the record and state.
 */
export function applyResume(state: State, agent: AgentRecord, raiseTo: number | undefined): { limit: LimitName; now: number | null } {
  const hold = agent.hold;
  if (!hold) throw new UserError(`${agent.name} is not paused (it is ${agent.status}); there is nothing to resume.`);
  if (raiseTo !== undefined && !(raiseTo > hold.used)) {
    throw new UserError(
      `raise_to ${raiseTo} does not lift ${hold.limit}: ${agent.name} has used ${hold.used} already. Pass a larger raise_to, or none to lift the limit.`,
    );
  }
  const limits = (agent.limits ??= {});
  switch (hold.limit) {
    case 'max_cost_usd':
      limits.maxCostUsd = raiseTo ?? null;
      break;
    case 'max_tokens':
      if (raiseTo !== undefined && !Number.isInteger(raiseTo)) throw new UserError('raise_to for max_tokens must be a whole number of tokens.');
      limits.maxTokens = raiseTo ?? null;
      break;
    case 'timeout_minutes':
      limits.timeoutMinutes = raiseTo ?? null;
      break;
    case 'max_total_cost':
      if (raiseTo === undefined) {
        throw new UserError(
          `${agent.name} was paused by the crew-wide --max-total-cost ($${hold.value}): pass raise_to with the new crew limit in USD (it applies to every agent).`,
        );
      }
      state.crewLimits = { ...state.crewLimits, maxTotalCostUsd: raiseTo };
      break;
  }
  delete agent.hold;
  return { limit: hold.limit, now: raiseTo ?? null };
}
