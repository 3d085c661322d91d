import { stat } from 'node:fs/promises';
import { classifyScreen } from '../claude/screen.js';
import type { AgentWatch } from '../claude/watch.js';
import type { AgentHold, AgentRecord, SessionRecord, State } from '../store/types.js';
import type { TabInfo } from '../terminals/backend.js';
import { describeLimit, effectiveLimits, reachedLimit, refusal, type Reached } from './budgets.js';
import type { SupervisorContext } from './context.js';
import { LimitError } from './errors.js';
import { assessHealth, MAX_RELAUNCHES, RELAUNCH_RESET_MS, relaunchDecision, type Health } from './health.js';
import type { LiveStatus } from './observer.js';
import { desktopNotifier } from './desktop-notify.js';
import { worktreeStatus, type WorktreeStatus } from './worktrees.js';
import { sumUsage, type UsageMeter, type UsageView } from './usage.js';

/**
 * Keeps a long-running crew in bounds, on a timer while `serve` runs: pauses agents whose
 * budget or time is up once their turn ends, relaunches a Claude Code that exited by itself
 * (--resume, same conversation, at most MAX_RELAUNCHES times with backoff), tells the client
 * when an agent needs a person, and writes the periodic usage record to the audit log.
 * Status stays the observer's: the keeper writes holds and relaunch records, and asks the
 * observer to look again. What it has done about an agent (relaunch attempts and their
 * outcome, the health episode told about, the Escape sent) is in the agent's record, not in
 * memory: a restarted server continues the count and backoff and tells nothing twice.
 */

/** Why a person is told about an agent, with what to do about it. */
export const NOTICE_REASONS = ['permission', 'budget', 'timeout', 'stuck', 'waiting_long', 'crashed', 'relaunched', 'coordination_finished'] as const;

export interface Notice {
  agent: string;
  session_id: string;
  reason: (typeof NOTICE_REASONS)[number];
  message: string;
  action: string;
}

export interface KeeperDeps {
  ctx: SupervisorContext;
  meter: UsageMeter;
  /** Closes the dead tab and resumes the conversation in a new one (Supervisor.relaunchAgent). */
  relaunch(name: string): Promise<{ ok: true } | { ok: false; reason: string }>;
  /** Stops an idle agent's Claude Code, keeping its conversation (Supervisor.hibernateAgent). */
  hibernate(name: string): Promise<boolean>;
}

const TICK_MS = 3000;

export class Keeper {
  private timer?: NodeJS.Timeout;
  private ticking?: Promise<void>;
  private readonly listeners = new Set<(n: Notice) => void>();
  /** Relaunches this process is running (the record's `running` may be a dead server's). */
  private readonly relaunching = new Set<string>();
  private lastUsageRecord = { at: 0, fingerprint: '' };

  constructor(private readonly deps: KeeperDeps) {
    if (deps.ctx.config.notify) {
      const desktop = desktopNotifier(deps.ctx.env);
      if (desktop) this.listeners.add(desktop);
      else deps.ctx.log.warn('--notify: no notify-send (Linux) or osascript (macOS) on PATH; notices go to the MCP client only');
    }
    // A permission dialog waits for a person (the status is the observer's; the notice is ours).
    deps.ctx.observer.onChange((c) => {
      if (c.to !== 'waiting_permission') return;
      this.announce({
        agent: c.agent,
        session_id: c.session_id,
        reason: 'permission',
        message: `${c.agent} is waiting for a permission answer.`,
        action: `Answer the dialog in ${c.agent}'s tab (get_agent_output shows it).`,
      });
    });
  }

  start(everyMs = TICK_MS): void {
    this.timer ??= setInterval(() => void this.tick(), everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking;
  }

  onNotice(listener: (n: Notice) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** One round over every agent; ticks never overlap. */
  tick(now = Date.now()): Promise<void> {
    this.ticking ??= this.round(now)
      .catch((e: Error) => void this.deps.ctx.log.warn('keeper round failed', { error: e.message }))
      .finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  // ---- what status views show -------------------------------------------------------

  /** The working directory of an agent's Claude Code: its worktree, else the session root. */
  cwdOf(agent: AgentRecord, session: SessionRecord): string {
    return agent.worktree?.path ?? session.root;
  }

  /** What tabcrew has counted for it (usage-ledger.ts), not what its transcripts hold now. */
  async usageOf(agent: AgentRecord): Promise<UsageView> {
    return this.deps.meter.agentUsage(agent);
  }

  /** Every agent's usage and the crew's total. */
  async crewUsage(state: State): Promise<{ agents: Map<string, UsageView>; total: UsageView }> {
    const agents = new Map<string, UsageView>();
    for (const a of state.agents) {
      const s = state.sessions.find((x) => x.id === a.sessionId);
      if (s) agents.set(a.name, await this.usageOf(a));
    }
    return { agents, total: sumUsage([...agents.values()]) };
  }

  /** What get_session_status adds to an agent's line. */
  async statusExtras(
    agent: AgentRecord,
    session: SessionRecord,
    live: LiveStatus,
  ): Promise<{ usage: UsageView; health: Health; paused?: AgentHold; worktree?: WorktreeStatus }> {
    return {
      usage: await this.usageOf(agent),
      health: await this.healthOf(agent, session, live),
      ...(agent.hold ? { paused: agent.hold } : {}),
      ...(agent.worktree ? { worktree: await worktreeStatus(agent.worktree) } : {}),
    };
  }

  async healthOf(agent: AgentRecord, session: SessionRecord, live: LiveStatus, now = Date.now()): Promise<Health> {
    const { config } = this.deps.ctx;
    const watch = this.deps.ctx.observer.watch(agent, session);
    // A status read off the screen is dated "now" at every look; the record keeps when it began.
    const recorded = agent.status === live.status ? Date.parse(agent.since) : Infinity;
    return assessHealth({
      status: live.status,
      statusSince: Math.min(live.since ?? Infinity, recorded, now),
      lastProgressAt: await lastProgress(watch),
      now,
      stuckAfterMs: config.stuckAfterMs,
      waitingAfterMs: config.waitingAfterMs,
      crash: this.crashOf(agent, session, live),
    });
  }

  private crashOf(agent: AgentRecord, session: SessionRecord, live: LiveStatus): { since: number; reason: string } | undefined {
    const r = agent.relaunch;
    const since = live.since ?? Date.parse(agent.since);
    if (r?.gaveUp) {
      return { since, reason: `Claude Code exited by itself and was relaunched ${r.attempts} times; gave up. Last error: ${r.lastError ?? 'none shown'}` };
    }
    if (this.relaunching.has(agent.name))
      return { since, reason: `Claude Code exited by itself; relaunch attempt ${r?.attempts ?? 1} of ${MAX_RELAUNCHES} running` };
    if (this.isDead(agent, live) && !this.exitedOnRequest(agent, session, live)) {
      return {
        since,
        reason: `Claude Code exited by itself; ${r?.attempts ?? 0} of ${MAX_RELAUNCHES} relaunches so far${r?.lastError ? `. Last error: ${r.lastError}` : ''}`,
      };
    }
    return undefined;
  }

  /**
   * Exited, or without its tab after a relaunch attempt that failed (or that a restart cut
   * short): `detached` alone is a tab closed by a person, not a crash.
   */
  private isDead(agent: AgentRecord, live: LiveStatus): boolean {
    if (live.status === 'exited') return true;
    const r = agent.relaunch;
    return live.status === 'detached' && !!r && !r.gaveUp && (!!r.failed || (!!r.running && !this.relaunching.has(agent.name)));
  }

  /** `/exit` typed in the tab by the person is an exit they asked for: no relaunch. */
  private exitedOnRequest(agent: AgentRecord, session: SessionRecord, live: LiveStatus): boolean {
    if (live.status !== 'exited') return false;
    const watch = this.deps.ctx.observer.watch(agent, session);
    const end = lastOf(watch?.spool.records ?? [], (r) => r.event === 'SessionEnd' && r.session_id === agent.claudeSessionId && r.launch === agent.launchId);
    return end?.reason === 'prompt_input_exit';
  }

  // ---- budgets ----------------------------------------------------------------------

  /**
   * Refuses a message to a paused agent, or to one that has reached a limit (it is paused
   * now when it is idle; a busy one is paused by the keeper once its turn ends).
   */
  async admit(name: string): Promise<void> {
    const state = await this.deps.ctx.store.read();
    const agent = state.agents.find((a) => a.name === name);
    const session = agent && state.sessions.find((s) => s.id === agent.sessionId);
    if (!agent || !session) return;
    if (agent.hold) throw new LimitError(refusal(name, agent.hold));
    const reached = await this.reached(agent, session, state, Date.now());
    if (!reached) return;
    const live = await this.deps.ctx.observer.observeOne(name);
    if (live.status === 'idle') await this.pause(agent, session, reached);
    throw new LimitError(refusal(name, reached));
  }

  private async reached(agent: AgentRecord, session: SessionRecord, state: State, now: number, crew?: UsageView): Promise<Reached | undefined> {
    const limits = effectiveLimits(agent, this.deps.ctx.config, state);
    if (limits.maxCostUsd === undefined && limits.maxTokens === undefined && limits.maxTotalCostUsd === undefined && limits.timeoutMinutes === undefined) {
      return undefined;
    }
    const usage = await this.usageOf(agent);
    const crewCost = limits.maxTotalCostUsd === undefined ? null : (crew ?? (await this.crewUsage(state)).total).cost_usd;
    return reachedLimit({ limits, usage, crewCostUsd: crewCost, createdAt: agent.createdAt, now });
  }

  private async pause(agent: AgentRecord, session: SessionRecord, reached: Reached): Promise<void> {
    const held = await this.deps.ctx.store.update((state) => {
      const a = state.agents.find((x) => x.name === agent.name);
      if (!a || a.hold || a.claudeSessionId !== agent.claudeSessionId) return false;
      a.hold = { reason: reached.reason, limit: reached.limit, value: reached.value, used: reached.used, at: new Date().toISOString() };
      if (a.healthMarks) delete a.healthMarks.interruptedAt;
      return true;
    });
    if (!held) return;
    await this.deps.ctx.audit?.append({ type: 'budget', action: 'pause', agent: agent.name, session: session.id, ...reached });
    this.deps.ctx.log.info('agent paused', { agent: agent.name, ...reached });
    await this.deps.ctx.observer.observeOne(agent.name);
    this.tell({
      agent: agent.name,
      session_id: session.id,
      reason: reached.reason,
      message: `${agent.name} is paused: ${describeLimit(reached)}. It finished its turn and takes no more messages.`,
      action: `resume_agent {agent: "${agent.name}", raise_to: N} raises ${reached.limit}; without raise_to it is lifted.`,
    });
  }

  private async checkBudget(agent: AgentRecord, session: SessionRecord, live: LiveStatus, state: State, crew: UsageView, now: number): Promise<void> {
    if (agent.hold) return;
    const reached = await this.reached(agent, session, state, now, crew);
    if (!reached) {
      if (agent.healthMarks?.interruptedAt) await this.patch(agent.name, (a) => a.healthMarks && delete a.healthMarks.interruptedAt);
      return;
    }
    if (live.status === 'idle') return this.pause(agent, session, reached);
    // Mid-turn: the turn is let finish, unless the agent was created with interrupt: true.
    if (live.status === 'busy' && agent.limits?.interrupt && live.tab && !agent.healthMarks?.interruptedAt) {
      const screen = await this.deps.ctx.backend.readScreen(live.tab, 60).catch(() => '');
      // Escape once, and only on a running turn: in a dialog Escape would answer it.
      if (classifyScreen(screen) === 'busy') {
        await this.patch(agent.name, (a) => (a.healthMarks = { ...a.healthMarks, interruptedAt: new Date(now).toISOString() }));
        await this.deps.ctx.backend.sendKeys(live.tab, ['Escape']);
        await this.deps.ctx.audit?.append({ type: 'budget', action: 'interrupt', agent: agent.name, session: session.id, limit: reached.limit });
      }
    }
  }

  // ---- crashes ----------------------------------------------------------------------

  private async checkCrash(agent: AgentRecord, session: SessionRecord, live: LiveStatus, now: number): Promise<void> {
    const name = agent.name;
    const r = agent.relaunch;
    if (this.relaunching.has(name)) return;
    if (!this.isDead(agent, live)) {
      // Back by other means (recover_session): a later lost tab is a person's doing again.
      if (r?.failed && (live.status === 'idle' || live.status === 'busy')) await this.patch(name, (a) => a.relaunch && delete a.relaunch.failed);
      // Running again for a while: later exits get their three attempts afresh.
      if (r && !r.gaveUp && now - Date.parse(r.lastAttemptAt) > RELAUNCH_RESET_MS && live.status !== 'starting') {
        await this.patch(name, (a) => delete a.relaunch);
      }
      return;
    }
    if (r?.gaveUp || this.exitedOnRequest(agent, session, live)) return;
    const decision = relaunchDecision({
      attempts: r?.attempts ?? 0,
      exitedAt: live.since ?? Date.parse(agent.since),
      lastAttemptAt: r ? Date.parse(r.lastAttemptAt) : undefined,
      now,
    });
    if (decision.kind === 'wait') return;
    const lastError = (live.tab && (await screenTail(this.deps.ctx, live.tab))) || r?.lastError;
    if (decision.kind === 'give_up') {
      await this.patch(
        name,
        (a) => (a.relaunch = { attempts: r?.attempts ?? 0, lastAttemptAt: r?.lastAttemptAt ?? new Date(now).toISOString(), lastError, gaveUp: true }),
      );
      await this.deps.ctx.audit?.append({
        type: 'relaunch',
        agent: name,
        session: session.id,
        outcome: 'gave_up',
        attempts: r?.attempts ?? 0,
        last_error: lastError,
      });
      this.tell({
        agent: name,
        session_id: session.id,
        reason: 'crashed',
        message: `${name}'s Claude Code kept exiting; after ${MAX_RELAUNCHES} relaunches it stays exited. Last error: ${lastError ?? 'none shown'}`,
        action: `Read get_agent_output {agent: "${name}"}, fix the cause, then recover_session or start_new_agent_conversation.`,
      });
      return;
    }
    await this.patch(
      name,
      (a) => (a.relaunch = { attempts: decision.attempt, lastAttemptAt: new Date(now).toISOString(), running: true, ...(lastError ? { lastError } : {}) }),
    );
    this.relaunching.add(name);
    this.deps.ctx.log.warn('relaunching agent', { agent: name, attempt: decision.attempt });
    void this.deps
      .relaunch(name)
      .then(async (outcome) => {
        await this.patch(name, (a) => {
          if (!a.relaunch) return;
          delete a.relaunch.running;
          if (outcome.ok) delete a.relaunch.failed;
          else Object.assign(a.relaunch, { failed: true, lastError: outcome.reason });
        });
        await this.deps.ctx.audit?.append({
          type: 'relaunch',
          agent: name,
          session: session.id,
          attempt: decision.attempt,
          outcome: outcome.ok ? 'ok' : 'failed',
          ...(outcome.ok ? {} : { reason: outcome.reason }),
          ...(lastError ? { last_error: lastError } : {}),
          claude_session_id: agent.claudeSessionId,
        });
        this.tell({
          agent: name,
          session_id: session.id,
          reason: outcome.ok ? 'relaunched' : 'crashed',
          message: outcome.ok
            ? `${name}'s Claude Code exited by itself and was relaunched with its conversation (attempt ${decision.attempt} of ${MAX_RELAUNCHES}).`
            : `${name}'s Claude Code exited by itself; relaunch attempt ${decision.attempt} of ${MAX_RELAUNCHES} failed: ${outcome.reason}`,
          action: outcome.ok ? 'None needed; get_agent_output shows what it was doing.' : 'tabcrew tries again with backoff; get_agent_output shows the error.',
        });
      })
      .catch((e: Error) => this.deps.ctx.log.error('relaunch failed', { agent: name, error: e.message }))
      .finally(() => this.relaunching.delete(name));
  }

  // ---- the round --------------------------------------------------------------------

  private async round(now: number): Promise<void> {
    const { store, observer } = this.deps.ctx;
    const state = await store.read();
    const lives = new Map<string, LiveStatus>();
    for (const session of state.sessions) {
      const agents = state.agents.filter((a) => a.sessionId === session.id);
      if (!agents.length) continue;
      // An agent being launched is watched by its launch; looking at its session now would only
      // add terminal round trips (an osascript run each on iTerm2). A later round looks, at the
      // latest once --start-timeout has passed (an agent left `starting` must not blind the keeper).
      const launching = (a: (typeof agents)[number]) =>
        a.owner || (a.status === 'starting' && now - Date.parse(a.since) < this.deps.ctx.config.startTimeoutS * 1000);
      if (agents.some(launching)) continue;
      for (const [name, live] of await observer.observe(session, agents)) lives.set(name, live);
    }
    const after = await store.read();
    const crew = await this.crewUsage(after);
    for (const agent of after.agents) {
      const session = after.sessions.find((s) => s.id === agent.sessionId);
      const live = lives.get(agent.name);
      if (!session || !live) continue;
      await this.checkBudget(agent, session, live, after, crew.total, now);
      await this.checkCrash(agent, session, live, now);
      await this.tellHealth(agent, session, live, now);
      await this.checkHibernate(agent, live, now);
    }
    await this.recordUsage(after, crew, now);
  }

  private async checkHibernate(agent: AgentRecord, live: LiveStatus, now: number): Promise<void> {
    const after = this.deps.ctx.config.hibernateAfterMs;
    if (!after || agent.hibernated || agent.hold || live.status !== 'idle') return;
    if (now - (live.since ?? Date.parse(agent.since)) < after) return;
    if (await this.deps.hibernate(agent.name)) this.deps.ctx.log.info('agent hibernated', { agent: agent.name });
  }

  private async tellHealth(agent: AgentRecord, session: SessionRecord, live: LiveStatus, now: number): Promise<void> {
    const h = await this.healthOf(agent, session, live, now);
    if (h.health !== 'stuck' && h.health !== 'waiting_long') return;
    const told = agent.healthMarks?.told;
    if (told?.health === h.health && told.since === h.since) return;
    const episode = { health: h.health, since: h.since };
    await this.patch(agent.name, (a) => (a.healthMarks = { ...a.healthMarks, told: episode }));
    await this.deps.ctx.audit?.append({ type: 'health', agent: agent.name, session: session.id, health: h.health, reason: h.reason, since: h.since });
    this.tell({
      agent: agent.name,
      session_id: session.id,
      reason: h.health,
      message: `${agent.name} is ${h.health.replace('_', ' ')}: ${h.reason}.`,
      action:
        h.health === 'stuck'
          ? `Look with get_agent_output {agent: "${agent.name}"}; send it a message once idle, or start_new_agent_conversation.`
          : `Answer the permission dialog in ${agent.name}'s tab.`,
    });
  }

  /** The audit log's usage record: every --usage-record-every, when usage changed since the last one. */
  private async recordUsage(state: State, crew: { agents: Map<string, UsageView>; total: UsageView }, now: number): Promise<void> {
    if (now - this.lastUsageRecord.at < this.deps.ctx.config.usageRecordEveryMs && this.lastUsageRecord.at) return;
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
    await this.deps.ctx.audit?.append({ type: 'usage', crew: brief(crew.total), sessions, agents });
  }

  /** Tells the client (and the desktop, with --notify) that an agent needs a person; other parts (coordination runs) call it too. */
  announce(n: Notice): void {
    this.tell(n);
  }

  private tell(n: Notice): void {
    this.deps.ctx.log.info('attention', { ...n });
    for (const l of this.listeners) l(n);
  }

  private async patch(name: string, change: (a: AgentRecord) => unknown): Promise<void> {
    await this.deps.ctx.store.update((state) => {
      const a = state.agents.find((x) => x.name === name);
      if (a) change(a);
    });
  }
}

function lastOf<T>(items: readonly T[], pred: (t: T) => boolean): T | undefined {
  for (let i = items.length - 1; i >= 0; i--) if (pred(items[i]!)) return items[i];
  return undefined;
}

/** The newest progress signal of the conversation: its latest hook record or transcript write. */
async function lastProgress(watch: AgentWatch | undefined): Promise<number | undefined> {
  if (!watch) return undefined;
  const last = lastOf(watch.spool.records, (r) => r.session_id === watch.claudeSessionId);
  let written: number | undefined;
  try {
    written = (await stat(watch.transcriptPath())).mtimeMs;
  } catch {
    // no transcript yet
  }
  const times = [last?.ts, written].filter((t): t is number => t !== undefined);
  return times.length ? Math.max(...times) : undefined;
}

async function screenTail(ctx: SupervisorContext, tab: TabInfo): Promise<string | undefined> {
  try {
    const lines = (await ctx.backend.readScreen(tab, 200)).split('\n').filter((l) => l.trim());
    return lines.length ? lines.slice(-5).join(' | ').slice(0, 500) : undefined;
  } catch {
    return undefined;
  }
}
