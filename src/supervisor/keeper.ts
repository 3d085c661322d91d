import type { AgentRecord, SessionRecord, State } from '../store/types.js';
import type { AgentLifecycle } from './agents.js';
import type { Budgets } from './budgets.js';
import type { Limits } from './limits.js';
import type { Services } from './context.js';
import type { Notices } from './notices.js';
import type { LiveStatus } from './observer.js';
import type { Relauncher } from './relaunch.js';
import { agentsIn, sessionOf, type Roster } from './roster.js';
import type { StatusView } from './status-view.js';
import { sumUsage, type CrewUsage, type UsageView } from './usage.js';

/**
 * Keeps a long-running crew in bounds, on a timer while `serve` runs. Each round looks at
 * every agent once and hands it to the owners of each question: budgets (supervisor/budgets.ts)
 * pause an agent whose budget or time is up once its turn ends; the relaunch policy
 * (supervisor/relaunch.ts) resumes a Claude Code that exited by itself; the health episode
 * is told (supervisor/notices.ts); an agent idle for --hibernate-after is hibernated; and the
 * periodic usage record goes to the audit log. Status stays the observer's. What was done
 * about an agent is in its record, not in memory: a restarted server tells nothing twice.
 */
export type KeeperDeps = Pick<Services, 'config' | 'store' | 'observer' | 'log' | 'audit'> & {
  usage: CrewUsage;
  budgets: Pick<Budgets, 'checkBudget'>;
  relaunch: Pick<Relauncher, 'checkCrash'>;
  status: Pick<StatusView, 'healthOf'>;
  notices: Pick<Notices, 'tell'>;
  roster: Pick<Roster, 'patchIfThere'>;
  /** Stops an idle agent's Claude Code, keeping its conversation. */
  agents: Pick<AgentLifecycle, 'hibernateAgent'>;
  /** API usage limits: pauses an agent whose turn ended on one; resumes after the reset (limits.ts, limit-resume.ts). */
  limits?: { checkAgent: Limits['checkAgent']; tick: (now: number) => void };
};

const TICK_MS = 3000;

export class Keeper {
  private timer?: NodeJS.Timeout;
  private ticking?: Promise<void>;
  private lastUsageRecord = { at: 0, fingerprint: '' };

  constructor(private readonly deps: KeeperDeps) {}

  start(everyMs = TICK_MS): void {
    this.timer ??= setInterval(() => void this.tick(), everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking;
  }

  /** One round over every agent; ticks never overlap. */
  tick(now = Date.now()): Promise<void> {
    this.ticking ??= this.round(now)
      .catch((e: Error) => void this.deps.log.warn('keeper round failed', { error: e.message }))
      .finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  private async round(now: number): Promise<void> {
    const { store, observer } = this.deps;
    const state = await store.read();
    const lives = new Map<string, LiveStatus>();
    for (const session of state.sessions) {
      const agents = agentsIn(state, session.id);
      if (!agents.length) continue;
      // An agent being launched is watched by its launch; looking at its session now would only
      // add terminal round trips (an osascript run each on iTerm2). A later round looks, at the
      // latest once --start-timeout has passed (an agent left `starting` must not blind the keeper).
      const launching = (a: (typeof agents)[number]) =>
        a.owner || (a.status === 'starting' && now - Date.parse(a.since) < this.deps.config.startTimeoutS * 1000);
      if (agents.some(launching)) continue;
      for (const [name, live] of await observer.observe(session, agents)) lives.set(name, live);
    }
    const after = await store.read();
    const crew = await this.deps.usage.crewUsage(after);
    for (const agent of after.agents) {
      const session = sessionOf(after, agent);
      const live = lives.get(agent.name);
      if (!session || !live) continue;
      await this.deps.limits?.checkAgent(agent, session, live, now);
      await this.deps.budgets.checkBudget(agent, session, live, after, crew.total, now);
      await this.deps.relaunch.checkCrash(agent, session, live, now);
      await this.tellHealth(agent, session, live, now);
      await this.checkHibernate(agent, live, now);
    }
    await this.recordUsage(after, crew, now);
    this.deps.limits?.tick(now);
  }

  private async checkHibernate(agent: AgentRecord, live: LiveStatus, now: number): Promise<void> {
    const after = this.deps.config.hibernateAfterMs;
    if (!after || agent.hibernated || agent.hold || live.status !== 'idle') return;
    if (now - (live.since ?? Date.parse(agent.since)) < after) return;
    if (await this.deps.agents.hibernateAgent(agent.name)) this.deps.log.info('agent hibernated', { agent: agent.name });
  }

  private async tellHealth(agent: AgentRecord, session: SessionRecord, live: LiveStatus, now: number): Promise<void> {
    const h = await this.deps.status.healthOf(agent, session, live, now);
    if (h.health !== 'stuck' && h.health !== 'waiting_long') return;
    const told = agent.healthMarks?.told;
    if (told?.health === h.health && told.since === h.since) return;
    const episode = { health: h.health, since: h.since };
    await this.deps.roster.patchIfThere(agent.name, (a) => (a.healthMarks = { ...a.healthMarks, told: episode }));
    await this.deps.audit?.append({ type: 'health', agent: agent.name, session: session.id, health: h.health, reason: h.reason, since: h.since });
    this.deps.notices.tell({
      agent: agent.name,
      session_id: session.id,
      reason: h.health,
      episode: h.since,
      message: `${agent.name} is ${h.health.replace('_', ' ')}: ${h.reason}.`,
      action:
        h.health === 'stuck'
          ? `Look with get_agent_output {agent: "${agent.name}"}; send it a message once idle, or start_new_agent_conversation.`
          : `Answer the permission dialog in ${agent.name}'s tab.`,
    });
  }

  /** The audit log's usage record: every --usage-record-every, when usage changed since the last one. */
  private async recordUsage(state: State, crew: { agents: Map<string, UsageView>; total: UsageView }, now: number): Promise<void> {
    if (now - this.lastUsageRecord.at < this.deps.config.usageRecordEveryMs && this.lastUsageRecord.at) return;
    const brief = (u: UsageView) => ({
      input: u.input,
      output: u.output,
      cache_read: u.cache_read,
      cache_write: u.cache_write,
      cost_usd: u.cost_usd,
      ...(u.unpriced_models.length ? { unpriced_models: u.unpriced_models } : {}),
    });
    const agents = state.agents
      .filter((a) => crew.agents.has(a.name))
      .map((a) => ({ agent: a.name, session: a.sessionId, ...brief(crew.agents.get(a.name)!) }));
    const fingerprint = JSON.stringify(agents);
    if (fingerprint === this.lastUsageRecord.fingerprint || crew.total.total_tokens === 0) return;
    this.lastUsageRecord = { at: now, fingerprint };
    const sessions = state.sessions.map((s) => ({
      session: s.id,
      ...brief(sumUsage(state.agents.filter((a) => a.sessionId === s.id && crew.agents.has(a.name)).map((a) => crew.agents.get(a.name)!))),
    }));
    await this.deps.audit?.append({ type: 'usage', crew: brief(crew.total), sessions, agents });
  }
}
