import type { AuditLog } from '../audit/audit-log.js';
import type { Logger } from '../audit/logger.js';
import type { Turn } from '../claude/transcript.js';
import { loadPriceTable } from '../claude/prices.js';
import { loadRolesFile, RoleCatalogue } from '../claude/roles.js';
import { claudeConfigDir } from '../claude/watch.js';
import type { Config } from '../config.js';
import type { StateStore } from '../store/state-store.js';
import type { AgentStatus, State } from '../store/types.js';
import type { TerminalBackend } from '../terminals/backend.js';
import { AgentDesk } from './agent-desk.js';
import { AgentLifecycle, type CreateAgentInput } from './agents.js';
import { Budgets } from './budgets.js';
import type { Caller } from './children.js';
import type { DeliveryTiming, Progress, Services } from './context.js';
import { Coordinator, type CoordinateInput } from './coordination.js';
import type { RunSummary, RunView } from './coordination-view.js';
import { checkMessage, type DeliveryResult } from './delivery.js';
import { Keeper } from './keeper.js';
import { LimitResumer } from './limit-resume.js';
import { Limits, type LimitView } from './limits.js';
import { MessageCenter, type MessageSummary } from './messages.js';
import type { AlertContext, AlertSink } from '../notify/alert.js';
import { Notices, type LevelledNotice } from './notices.js';
import { AgentObserver, type StatusChange } from './observer.js';
import { Owner } from './owner.js';
import { PermissionBroker, type PendingPermission, type PendingRequest, type PermissionDecision } from './permissions.js';
import type { QuestionAnswer, RequestKind } from '../claude/request-kinds.js';
import { Recovery, type RecoveryReport } from './recovery.js';
import { Relauncher } from './relaunch.js';
import { findSession, realpathOrSelf, Roster } from './roster.js';
import { RuntimeWatch } from './runtime-watch.js';
import { Sessions } from './sessions.js';
import { StartQueue } from './start-queue.js';
import { StatusView, type SessionStatusView } from './status-view.js';
import { CrewUsage, UsageMeter } from './usage.js';
import { UsageLedger } from './usage-ledger.js';
import { ReviewDesk } from './review/review-desk.js';

export type { AgentStatusView, SessionStatusView } from './status-view.js';
export type { CreateAgentInput } from './agents.js';
export type { RecoveredAgent, RecoveryReport } from './recovery.js';
export type { StatusChange } from './observer.js';

/**
 * The one object the MCP tools talk to: a facade over the owners of each question, which it
 * makes once, each with what it uses (docs/architecture.md maps them). Sessions
 * (sessions.ts), every agent verb under the per-agent lock (agents.ts), what an agent is
 * doing (status-view.ts over observer.ts), recovery (recovery.ts), agent-to-agent mail
 * (messages.ts), coordination runs (coordination.ts), permission requests (permissions.ts),
 * and the keeper's tick (keeper.ts over budgets, relaunch, notices and usage).
 */
export class Supervisor {
  private readonly services: Services;
  private readonly sessions: Sessions;
  private readonly agents: AgentLifecycle;
  private readonly status: StatusView;
  private readonly recovery: Recovery;
  private readonly mail: MessageCenter;
  private readonly notices: Notices;
  private readonly keeper: Keeper;
  private readonly roles: RoleCatalogue;
  private readonly coordinator: Coordinator;
  private readonly permissions: PermissionBroker;
  /** API usage limits: pauses, refusals, queued work and resumes (limits.ts, limit-resume.ts). */
  private readonly limits: Limits;
  private readonly limitResumer: LimitResumer;
  /** Usage counted into the state as transcripts grow (usage-ledger.ts). */
  private readonly ledger: UsageLedger;
  /** What agents call through their own MCP server (supervisor/agent-desk.ts); the agent socket serves it. */
  readonly desk: AgentDesk;
  /** Review wing: changes per agent, the merge queue (supervisor/review/, docs/review-and-merge.md). */
  readonly review: ReviewDesk;

  constructor(deps: {
    config: Config;
    store: StateStore;
    backend: TerminalBackend;
    log: Logger;
    env?: NodeJS.ProcessEnv;
    audit?: Pick<AuditLog, 'append'>;
    /** Where alerts are pushed (--notify-url; src/notify/), and the dashboard's address for their links. */
    alerts?: { sinks: AlertSink[]; dashboardUrl?: AlertContext['dashboardUrl'] };
  }) {
    const env = deps.env ?? process.env;
    const c = deps.config;
    const observer = new AgentObserver({ store: deps.store, backend: deps.backend, log: deps.log, runtimeDir: c.runtimeDir, env, audit: deps.audit });
    const ctx: Services = {
      ...deps,
      env,
      observer,
      owner: new Owner(),
      deliveries: new Set(),
      starts: new StartQueue(c.maxStarting),
      activity: new RuntimeWatch(c.runtimeDir, deps.log),
    };
    this.services = ctx;
    const roster = new Roster(deps.store);
    const policy = { level: c.securityLevel, allowBypass: c.allowBypass, allowedRoots: c.allowedRoots.map(realpathOrSelf) };
    // Read at start: a bad roles file stops tabcrew with what is wrong in it.
    this.roles = new RoleCatalogue(c.rolesFile ? loadRolesFile(c.rolesFile) : []);
    this.notices = new Notices({ ...ctx, alerts: deps.alerts });
    this.limits = ctx.limits = new Limits({ ...ctx, notices: this.notices });
    this.limitResumer = new LimitResumer({ ...ctx, limits: this.limits, agents: () => this.agents, concurrency: c.maxStarting });
    this.ledger = new UsageLedger({ store: deps.store, claudeConfigDir: claudeConfigDir(env), log: deps.log, audit: deps.audit });
    const usage = new CrewUsage({ meter: new UsageMeter(loadPriceTable(c.pricesFile), this.ledger) });
    const budgets = new Budgets({ ...ctx, usage, notices: this.notices, roster });
    this.agents = new AgentLifecycle({ ctx, roster, budgets, roles: this.roles, policy });
    const relaunch = new Relauncher({ ...ctx, roster, notices: this.notices, agents: this.agents });
    this.sessions = new Sessions({ ...ctx, policy, agents: this.agents });
    this.recovery = new Recovery({ ...ctx, roster, agents: this.agents });
    this.mail = new MessageCenter(ctx, this.agents, c.messageTtlS);
    this.review = new ReviewDesk({
      store: deps.store,
      owner: ctx.owner,
      runtimeDir: c.runtimeDir,
      log: deps.log,
      audit: deps.audit,
      env,
      tell: async (sessionId, agent, text) => void (await this.mail.send({ from: 'supervisor', sessionId }, { to: agent, message: text, kind: 'note' })),
      tellOnOverlap: c.tellAgentsOnOverlap !== false,
      activity: ctx.activity,
      ...(c.mergeCheck ? { mergeCheck: { command: c.mergeCheck, timeoutMs: c.mergeCheckTimeoutMs ?? 10 * 60_000 } } : {}),
    });
    this.status = new StatusView({ ...ctx, roster, usage, ledger: this.ledger, relaunch, review: this.review, limits: this.limits });
    const limits = {
      checkAgent: this.limits.checkAgent.bind(this.limits),
      tick: this.limitResumer.tick.bind(this.limitResumer),
      dueAt: (state: State) => {
        const e = this.limits.episode(state);
        return e && this.limits.dueAt(e);
      },
    };
    this.keeper = new Keeper({ ...ctx, usage, budgets, relaunch, status: this.status, notices: this.notices, roster, agents: this.agents, limits });
    this.desk = new AgentDesk(ctx, this.mail);
    this.coordinator = new Coordinator(ctx, this.agents, this.notices);
    this.permissions = new PermissionBroker({ store: deps.store, runtimeDir: c.runtimeDir, log: deps.log, audit: deps.audit, activity: ctx.activity });
  }

  get securityLevel(): Config['securityLevel'] {
    return this.services.config.securityLevel;
  }

  get backend(): TerminalBackend {
    return this.services.backend;
  }

  // ---- what runs while `serve` does ---------------------------------------------------

  /** Pushes queued agent-to-agent messages (only `serve`: one-shot CLI commands leave them queued). */
  startMessagePump(): void {
    this.mail.start();
  }

  stopMessagePump(): void {
    this.mail.stop();
  }

  /** Budgets, health, relaunches, usage records (docs/long-running.md), on a timer. */
  startKeeper(): void {
    this.keeper.start();
  }

  /** New overlaps between agents' changes, announced as they appear (docs/review-and-merge.md). */
  startOverlapWatch(): void {
    this.review.start();
  }

  stopOverlapWatch(): void {
    this.review.stop();
  }

  async stopKeeper(): Promise<void> {
    await this.keeper.stop();
    // A resume pass may be waiting for agents to become idle: shutdown does not wait for all of it.
    await Promise.race([this.limitResumer.settled(), new Promise((r) => setTimeout(r, 2000).unref())]);
  }

  // ---- sessions (sessions.ts) and what they show (status-view.ts) ------------------------

  createSession = (input: { root: string; name?: string }) => this.sessions.createSession(input);
  sessionNames = (ref: string) => this.sessions.sessionNames(ref);
  listSessions = () => this.sessions.listSessions();
  deleteSession = (ref: string) => this.sessions.deleteSession(ref);
  getTodo = (ref: string) => this.sessions.getTodo(ref);

  getSessionStatus(sessionRef: string): Promise<SessionStatusView> {
    return this.status.getSessionStatus(sessionRef);
  }

  getAgentOutput(name: string, lines?: number): Promise<{ agent: string; screen: string; last_reply?: string; note?: string }> {
    return this.status.getAgentOutput(name, lines);
  }

  getAgentTranscript(name: string, turns?: number): Promise<{ agent: string; claude_session_id: string | null; turns: Turn[] }> {
    return this.status.getAgentTranscript(name, turns);
  }

  // ---- agents (agents.ts) ---------------------------------------------------------------

  /** With queue: true while the account is at a usage limit, the start is queued until the reset (limits.ts). */
  async createAgent(input: CreateAgentInput & { queue?: boolean }, progress?: Progress) {
    const { queue, ...create } = input;
    const queued = queue ? await this.limits.enqueue({ kind: 'create', input: { ...create } }) : undefined;
    return queued ?? this.agents.createAgent(create, progress);
  }
  /** The crew's API usage-limit state (get_session_status `limits`). */
  async usageLimits(): Promise<LimitView[]> {
    return this.limits.view(await this.services.store.read());
  }
  /** The helpers deleting `name` would take with it (its children, theirs, …). */
  helpersOf = (name: string) => this.agents.helpersOf(name);
  deleteAgent = (name: string, opts?: Parameters<AgentLifecycle['deleteAgent']>[1]) => this.agents.deleteAgent(name, opts);
  clearAgentConversation = (name: string) => this.agents.clearAgentConversation(name);
  startNewAgentConversation = (name: string, initialTask?: string, progress?: Progress) => this.agents.startNewAgentConversation(name, initialTask, progress);
  /** Lifts the budget or timeout hold of a paused agent: its limit raised to `raiseTo`, or lifted. */
  resumeAgent = (name: string, raiseTo?: number) => this.agents.resumeAgent(name, raiseTo);
  wakeAgent = (name: string, progress?: Progress): Promise<{ agent: string; status: AgentStatus; claude_session_id: string | null; woke: boolean }> =>
    this.agents.wakeAgent(name, progress);
  spawnAgent = (input: Parameters<AgentLifecycle['spawnAgent']>[0], opts?: Parameters<AgentLifecycle['spawnAgent']>[1]) => this.agents.spawnAgent(input, opts);

  /** With queue: true while the account (or the agent) is at a usage limit, the message is queued until the reset. */
  async sendMessage(
    name: string,
    input: Parameters<AgentLifecycle['sendMessage']>[1] & { queue?: boolean },
    progress?: Progress,
  ): Promise<DeliveryResult | (Omit<DeliveryResult, 'delivered'> & { delivered: 'queued'; resumes_at: string })> {
    const { queue, ...send } = input;
    if (queue) {
      await new Roster(this.services.store).find(name); // an unknown agent is an error, not a queued message
      checkMessage(send.message);
      const q = await this.limits.enqueue({ kind: 'message', agent: name, message: send.message });
      if (q) {
        const { status } = await this.services.observer.observeOne(name);
        return {
          agent: name,
          delivery_id: q.queue_id,
          delivered: 'queued',
          status,
          resumes_at: q.resumes_at,
          note: `Queued: delivered after the usage limit resets.`,
        };
      }
    }
    return this.agents.sendMessage(name, send, progress);
  }

  /** Counts what the agent's transcripts gained (its hooks ask over the agent socket); undefined: no such agent. */
  countUsage(name: string): ReturnType<UsageLedger['count']> {
    return this.ledger.count(name);
  }

  listRoles(): { roles: ReturnType<RoleCatalogue['view']> } {
    return { roles: this.roles.view() };
  }

  /** Calls `listener` when an agent needs a person (budget, stuck, crashed, …; supervisor/notices.ts). */
  onNotice(listener: (n: LevelledNotice) => void): () => void {
    return this.notices.onNotice(listener);
  }

  /** Calls `listener` for every status change the supervisor observes; returns an unsubscribe. */
  onStatusChange(listener: (c: StatusChange) => void): () => void {
    return this.services.observer.onChange(listener);
  }

  /** Calls `listener` as each delivery confirms or gives up, with its time from typing; returns an unsubscribe. */
  onDelivery(listener: (d: DeliveryTiming) => void): () => void {
    const listeners = this.services.deliveries!;
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  // ---- messages between agents (messages.ts) ---------------------------------------------

  /** Messages of a session (no text): list_messages and `tabcrew messages`. */
  async listMessages(input: { session: string; agent?: string; since?: string }): Promise<{ session_id: string; messages: MessageSummary[] }> {
    const session = findSession(await this.services.store.read(), input.session);
    return { session_id: session.id, ...(await this.mail.list({ session, agent: input.agent, since: input.since })) };
  }

  showMessage(id: string): ReturnType<MessageCenter['show']> {
    return this.mail.show(id);
  }

  // ---- coordination runs (coordination.ts) -----------------------------------------------

  /** coordinate_agents: from the MCP client, or from an agent (caller) within its own session. */
  coordinate = (input: CoordinateInput, opts: { caller?: Caller; progress?: Progress } = {}): Promise<RunView> =>
    this.coordinator.start(input, opts.caller, opts.progress);
  getCoordination = (runId: string, opts: { caller?: Caller } = {}): Promise<RunView> => this.coordinator.get(runId, opts.caller);
  cancelCoordination = (runId: string, opts: { interrupt?: boolean; caller?: Caller } = {}) =>
    this.coordinator.cancel(runId, { interrupt: opts.interrupt }, opts.caller);
  listRuns = async (opts: { session?: string; caller?: Caller } = {}): Promise<{ runs: RunSummary[] }> => ({
    runs: await this.coordinator.list(opts.session, opts.caller),
  });
  /** After a restart: goes on collecting the runs whose tabcrew stopped. */
  resumeRuns = () => this.coordinator.resume();
  /** This tabcrew stops: its runs are left for the next one to collect. */
  suspendRuns = () => this.coordinator.suspend();
  /** Resolves when the runs this process collects have ended. */
  runsSettled = () => this.coordinator.settled();

  // ---- permission requests (permissions.ts) and recovery (recovery.ts) -------------------

  /** Permission dialogs only (list_pending_permissions); listPendingRequests has questions and plans too. */
  listPendingPermissions = (session?: string): Promise<PendingPermission[]> => this.permissions.list(session, 'permission');
  listPendingRequests = (session?: string, kind?: RequestKind): Promise<PendingRequest[]> => this.permissions.list(session, kind);
  pendingPermission = (requestId: string): Promise<PendingRequest> => this.permissions.pending(requestId);
  /** Whether a permission request id is this machine's (a front routes it here, never to a node). */
  holdsPermissionRequest = (requestId: string): Promise<boolean> => this.permissions.holds(requestId);
  decidePermission = (input: {
    request_id: string;
    decision: 'allow' | 'deny';
    reason?: string;
    answers?: QuestionAnswer[];
    by: string;
  }): Promise<PermissionDecision> => this.permissions.decide(input);
  /** Calls `listener` for each request (permission, question, plan) newly seen; returns an unsubscribe. */
  onPermissionRequest = (listener: (p: PendingPermission) => void): (() => void) => this.permissions.onRequest(listener);

  /** Brings every agent back after a restart (supervisor/recovery.ts). */
  recover(input: { session?: string; dry_run?: boolean; close_orphans?: boolean } = {}, progress?: Progress): Promise<RecoveryReport> {
    return this.recovery.recover(input, progress);
  }
}
