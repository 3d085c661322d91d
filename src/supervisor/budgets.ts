import type { Config } from '../config.js';
import type { AgentHold, AgentLimits, AgentRecord, LimitName, SessionRecord, State } from '../store/types.js';
import type { Services } from './context.js';
import { LimitError, UserError } from './errors.js';
import type { Notices } from './notices.js';
import type { LiveStatus } from './observer.js';
import { agentOf, sessionOf, type Roster } from './roster.js';
import { escapeBusyTurn } from './turns.js';
import type { CrewUsage, UsageView } from './usage.js';

/*
 * Budgets: which limit an agent has reached, the words that name it, and what resume_agent
 * does to it. The functions take no clock and do no I/O (callers pass what they observed);
 * `Budgets` at the end applies them: refuses messages, pauses agents, interrupts a turn.
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
  if (!hold && agent.usageLimit?.paused) {
    throw new UserError(
      `${agent.name} is paused by an API usage limit until ${agent.usageLimit.resumesAt}; tabcrew resumes it then by itself (resume_agent lifts budget and timeout pauses only).`,
    );
  }
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

export type BudgetsDeps = Pick<Services, 'config' | 'store' | 'backend' | 'log' | 'observer' | 'audit'> & {
  usage: CrewUsage;
  notices: Pick<Notices, 'tell'>;
  roster: Pick<Roster, 'patchIfThere'>;
};

/** Holds agents to their limits: refuses a message past one, pauses at a turn's end, interrupts when asked to. */
export class Budgets {
  constructor(private readonly deps: BudgetsDeps) {}

  /**
   * Refuses a message to a paused agent, or to one that has reached a limit (it is paused
   * now when it is idle; a busy one is paused by the keeper once its turn ends).
   */
  async admit(name: string, read?: State): Promise<void> {
    const state = read ?? (await this.deps.store.read());
    const agent = agentOf(state, name);
    const session = agent && sessionOf(state, agent);
    if (!agent || !session) return;
    if (agent.hold) throw new LimitError(refusal(name, agent.hold));
    const reached = await this.reached(agent, session, state, Date.now());
    if (!reached) return;
    const live = await this.deps.observer.observeOne(name);
    if (live.status === 'idle') await this.pause(agent, session, reached);
    throw new LimitError(refusal(name, reached));
  }

  /** The keeper's round: pauses an idle agent past a limit, interrupts a busy one created with interrupt: true. */
  async checkBudget(agent: AgentRecord, session: SessionRecord, live: LiveStatus, state: State, crew: UsageView, now: number): Promise<void> {
    if (agent.hold) return;
    const reached = await this.reached(agent, session, state, now, crew);
    if (!reached) {
      if (agent.healthMarks?.interruptedAt) await this.deps.roster.patchIfThere(agent.name, (a) => a.healthMarks && delete a.healthMarks.interruptedAt);
      return;
    }
    if (live.status === 'idle') return this.pause(agent, session, reached);
    // Mid-turn: the turn is let finish, unless the agent was created with interrupt: true.
    if (live.status === 'busy' && agent.limits?.interrupt && live.tab && !agent.healthMarks?.interruptedAt) {
      const pressed = await escapeBusyTurn(this.deps.backend, live.tab, () =>
        this.deps.roster.patchIfThere(agent.name, (a) => (a.healthMarks = { ...a.healthMarks, interruptedAt: new Date(now).toISOString() })),
      );
      if (pressed) await this.deps.audit?.append({ type: 'budget', action: 'interrupt', agent: agent.name, session: session.id, limit: reached.limit });
    }
  }

  private async reached(agent: AgentRecord, session: SessionRecord, state: State, now: number, crew?: UsageView): Promise<Reached | undefined> {
    const limits = effectiveLimits(agent, this.deps.config, state);
    if (limits.maxCostUsd === undefined && limits.maxTokens === undefined && limits.maxTotalCostUsd === undefined && limits.timeoutMinutes === undefined) {
      return undefined;
    }
    const usage = await this.deps.usage.usageOf(agent);
    const crewCost = limits.maxTotalCostUsd === undefined ? null : (crew ?? (await this.deps.usage.crewUsage(state)).total).cost_usd;
    return reachedLimit({ limits, usage, crewCostUsd: crewCost, createdAt: agent.createdAt, now });
  }

  private async pause(agent: AgentRecord, session: SessionRecord, reached: Reached): Promise<void> {
    const at = new Date().toISOString();
    const held = await this.deps.store.update((state) => {
      const a = agentOf(state, agent.name);
      if (!a || a.hold || a.claudeSessionId !== agent.claudeSessionId) return false;
      a.hold = { reason: reached.reason, limit: reached.limit, value: reached.value, used: reached.used, at };
      if (a.healthMarks) delete a.healthMarks.interruptedAt;
      return true;
    });
    if (!held) return;
    await this.deps.audit?.append({ type: 'budget', action: 'pause', agent: agent.name, session: session.id, ...reached });
    this.deps.log.info('agent paused', { agent: agent.name, ...reached });
    await this.deps.observer.observeOne(agent.name);
    this.deps.notices.tell({
      agent: agent.name,
      session_id: session.id,
      reason: reached.reason,
      episode: `hold at ${at}`,
      message: `${agent.name} is paused: ${describeLimit(reached)}. It finished its turn and takes no more messages.`,
      action: `resume_agent {agent: "${agent.name}", raise_to: N} raises ${reached.limit}; without raise_to it is lifted.`,
    });
  }
}
