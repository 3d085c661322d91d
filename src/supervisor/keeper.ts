import type { AgentRecord, AgentStatus, SessionRecord, State } from '../store/types.js';
import type { AgentLifecycle } from './agents.js';
import type { Budgets } from './budgets.js';
import type { Limits } from './limits.js';
import type { Services } from './context.js';
import type { Notices } from './notices.js';
import type { LiveStatus } from './observer.js';
import type { Relauncher } from './relaunch.js';
import type { RuntimeWatch } from './runtime-watch.js';
import { canStall } from './health.js';
import { agentsIn, sessionOf, type Roster } from './roster.js';
import type { StatusView } from './status-view.js';
import { FileLook } from '../util/file-look.js';
import { sumUsage, type CrewUsage, type UsageView } from './usage.js';

/**
 * Keeps a long-running crew in bounds, on a timer while `serve` runs. Each round looks at
 * every agent once and hands it to the owners of each question: budgets (supervisor/budgets.ts)
 * pause an agent whose budget or time is up once its turn ends; the relaunch policy
 * (supervisor/relaunch.ts) resumes a Claude Code that exited by itself; the health episode
 * is told (supervisor/notices.ts); an agent idle for --hibernate-after is hibernated; and the
 * periodic usage record goes to the audit log. Rounds back off while nothing changes (start). Status stays the observer's. What was done
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
  limits?: { checkAgent: Limits['checkAgent']; tick: (now: number) => void; dueAt: (state: State) => number | undefined };
  /** Hook activity (fs.watch on the runtime folder): a round soon after anything moves. */
  activity?: Pick<RuntimeWatch, 'on'>;
};

const TICK_MS = 3000;
/** While rounds find nothing new, each waits twice as long as the one before, up to this many intervals. */
const MAX_BACKOFF = 10;
/**
 * Statuses that change only by a hook or a person: a crew all in these (or exited for good) is
 * quiet. A busy agent is looked at every round (stuck, time limits), an exited one until its
 * relaunches are done.
 */
const QUIET: ReadonlySet<AgentStatus> = new Set(['idle', 'hibernated', 'paused', 'cleared']);

export class Keeper {
  private timer?: NodeJS.Timeout;
  private running = false;
  private everyMs = TICK_MS;
  private delay = TICK_MS;
  /** What the last round saw (statuses, tokens, the state's generation): the same again backs off. */
  private lastLook = '';
  /** The soonest time a round is due anyway (an idle agent's --hibernate-after), found by the last round. */
  private nextDue = Infinity;
  /** Hook activity came while a round ran: it may have come after the round read the spools, so that round does not back off. */
  private nudged = false;
  private unwatch?: () => void;
  private ticking?: Promise<void>;
  private lastUsageRecord = { at: 0, fingerprint: '' };

  constructor(private readonly deps: KeeperDeps) {}

  /**
   * Rounds every `everyMs` while something changes; while nothing does, the wait doubles up to
   * MAX_BACKOFF × `everyMs`, and any hook activity brings it back to `everyMs`. A quiet crew
   * then costs a round every 30 s rather than every 3 s; a turn's end still gets one at once.
   */
  start(everyMs = TICK_MS): void {
    if (this.running) return;
    this.running = true;
    this.everyMs = this.delay = everyMs;
    this.unwatch = this.deps.activity?.on(() => this.nudge());
    this.schedule();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.unwatch?.();
    this.unwatch = undefined;
    await this.ticking;
  }

  /** Something moved: the next round comes within the base interval again. */
  nudge(): void {
    if (!this.running) return;
    this.nudged = true;
    if (this.delay === this.everyMs) return;
    this.delay = this.everyMs;
    this.schedule();
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick().finally(() => this.running && this.schedule()), this.delay);
    this.timer.unref();
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
    this.nudged = false;
    const state = await store.read();
    const lives = new Map<string, LiveStatus>();
    // One look at the files for the round: each spool and transcript stat'ed once (util/file-look.ts).
    const files = new FileLook();
    let quiet = true;
    for (const session of state.sessions) {
      const agents = agentsIn(state, session.id);
      if (!agents.length) continue;
      // An agent being launched is watched by its launch; looking at its session now would only
      // add terminal round trips (an osascript run each on iTerm2). A later round looks, at the
      // latest once --start-timeout has passed (an agent left `starting` must not blind the keeper).
      const launching = (a: (typeof agents)[number]) =>
        a.owner || (a.status === 'starting' && now - Date.parse(a.since) < this.deps.config.startTimeoutS * 1000);
      if (agents.some(launching)) {
        quiet = false;
        continue;
      }
      for (const [name, live] of await observer.observe(session, agents, files)) lives.set(name, live);
    }
    const after = await store.read();
    this.nextDue = Infinity;
    const crew = await this.deps.usage.crewUsage(after, files);
    for (const agent of after.agents) {
      const session = sessionOf(after, agent);
      const live = lives.get(agent.name);
      if (!session || !live) continue;
      await this.deps.limits?.checkAgent(agent, session, live, now);
      quiet &&= QUIET.has(live.status) || !!agent.relaunch?.gaveUp;
      await this.deps.budgets.checkBudget(agent, session, live, after, crew.total, now);
      await this.deps.relaunch.checkCrash(agent, session, live, now);
      await this.tellHealth(agent, session, live, now);
      await this.checkHibernate(agent, live, now);
    }
    await this.recordUsage(after, crew, now);
    this.deps.limits?.tick(now);
    // A quiet crew's backed-off round still comes on time for the reset of a usage limit.
    const resumeDue = this.deps.limits?.dueAt(after);
    if (resumeDue !== undefined) this.nextDue = Math.min(this.nextDue, resumeDue);
    const look = JSON.stringify([after.generation, crew.total.total_tokens, [...lives].map(([n, l]) => [n, l.status])]);
    this.delay =
      quiet && !this.nudged && look === this.lastLook
        ? Math.min(this.delay * 2, this.everyMs * MAX_BACKOFF, Math.max(this.everyMs, this.nextDue - now))
        : this.everyMs;
    this.lastLook = look;
  }

  private async checkHibernate(agent: AgentRecord, live: LiveStatus, now: number): Promise<void> {
    const after = this.deps.config.hibernateAfterMs;
    if (!after || agent.hibernated || agent.hold || live.status !== 'idle') return;
    const due = (live.since ?? Date.parse(agent.since)) + after;
    if (now < due) {
      this.nextDue = Math.min(this.nextDue, due);
      return;
    }
    if (await this.deps.agents.hibernateAgent(agent.name)) this.deps.log.info('agent hibernated', { agent: agent.name });
  }

  private async tellHealth(agent: AgentRecord, session: SessionRecord, live: LiveStatus, now: number): Promise<void> {
    // An idle crew's health needs no look at each agent's progress (its spool, a stat of its transcript).
    if (!canStall(live.status)) return;
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
