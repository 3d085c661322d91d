import type { Turn } from '../claude/transcript.js';
import type { QuestionAnswer, RequestKind } from '../claude/request-kinds.js';
import type { Config } from '../config.js';
import type { AgentStatus } from '../store/types.js';
import type { TerminalBackend } from '../terminals/backend.js';
import type { AgentDesk, VerifiedAgent } from './agent-desk.js';
import type { AgentLifecycle, CreateAgentInput } from './agents.js';
import type { Caller } from './children.js';
import type { DeliveryTiming, Progress } from './context.js';
import type { CoordinateInput } from './coordination.js';
import type { RunSummary, RunView } from './coordination-view.js';
import { assembleCrew, type CrewParts, type SupervisorDeps } from './crew-parts.js';
import type { LimitView } from './limits.js';
import type { MessageCenter, MessageSummary } from './messages.js';
import type { LevelledNotice } from './notices.js';
import type { StatusChange } from './observer.js';
import type { PendingPermission, PendingRequest, PermissionDecision } from './permissions.js';
import type { QueuedWork } from './queued-work.js';
import type { RecoveryReport } from './recovery.js';
import type { ReviewDesk } from './review/review-desk.js';
import { findSession } from './roster.js';
import type { SessionStatusView } from './status-view.js';
import type { ToolGuard } from './tool-guard.js';
import type { UsageLedger } from './usage-ledger.js';
import type { RoleCatalogue } from '../claude/roles.js';

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
  private readonly p: CrewParts;
  /** What agents call through their own MCP server (supervisor/agent-desk.ts); the agent socket serves it. */
  readonly desk: AgentDesk;
  /** Review wing: changes per agent, the merge queue (supervisor/review/, docs/review-and-merge.md). */
  readonly review: ReviewDesk;

  constructor(deps: SupervisorDeps) {
    this.p = assembleCrew(deps);
    this.desk = this.p.desk;
    this.review = this.p.review;
  }

  get securityLevel(): Config['securityLevel'] {
    return this.p.services.config.securityLevel;
  }

  get backend(): TerminalBackend {
    return this.p.services.backend;
  }

  // ---- what runs while `serve` does ---------------------------------------------------

  /** Pushes queued agent-to-agent messages (only `serve`: one-shot CLI commands leave them queued). */
  startMessagePump(): void {
    this.p.mail.start();
  }

  stopMessagePump(): void {
    this.p.mail.stop();
  }

  /** Budgets, health, relaunches, usage records (docs/long-running.md), on a timer. */
  startKeeper(): void {
    this.p.keeper.start();
  }

  /** New overlaps between agents' changes, announced as they appear (docs/review-and-merge.md). */
  startOverlapWatch(): void {
    this.review.start();
  }

  stopOverlapWatch(): void {
    this.review.stop();
  }

  async stopKeeper(): Promise<void> {
    await this.p.keeper.stop();
    // A resume pass may be waiting for agents to become idle: shutdown does not wait for all of it.
    await Promise.race([this.p.limitResumer.settled(), new Promise((r) => setTimeout(r, 2000).unref())]);
  }

  // ---- sessions (sessions.ts) and what they show (status-view.ts) ------------------------

  createSession = (input: { root: string; name?: string }) => this.p.sessions.createSession(input);
  sessionNames = (ref: string) => this.p.sessions.sessionNames(ref);
  listSessions = () => this.p.sessions.listSessions();
  deleteSession = (ref: string) => this.p.sessions.deleteSession(ref);
  getTodo = (ref: string) => this.p.sessions.getTodo(ref);

  getSessionStatus(sessionRef: string): Promise<SessionStatusView> {
    return this.p.status.getSessionStatus(sessionRef);
  }

  getAgentOutput(name: string, lines?: number): Promise<{ agent: string; screen: string; last_reply?: string; note?: string }> {
    return this.p.status.getAgentOutput(name, lines);
  }

  getAgentTranscript(name: string, turns?: number): Promise<{ agent: string; claude_session_id: string | null; turns: Turn[] }> {
    return this.p.status.getAgentTranscript(name, turns);
  }

  // ---- agents (agents.ts) ---------------------------------------------------------------

  /** With queue: true while the account is at a usage limit, the start is queued until the reset (limits.ts). */
  createAgent = (input: CreateAgentInput & { queue?: boolean }, progress?: Progress) => this.p.queued.createAgent(input, progress);
  /** The crew's API usage-limit state (get_session_status `limits`). */
  async usageLimits(): Promise<LimitView[]> {
    return this.p.limits.view(await this.p.services.store.read());
  }
  /** The helpers deleting `name` would take with it (its children, theirs, …). */
  helpersOf = (name: string) => this.p.agents.helpersOf(name);
  deleteAgent = (name: string, opts?: Parameters<AgentLifecycle['deleteAgent']>[1]) => this.p.agents.deleteAgent(name, opts);
  clearAgentConversation = (name: string) => this.p.agents.clearAgentConversation(name);
  startNewAgentConversation = (name: string, initialTask?: string, progress?: Progress) => this.p.agents.startNewAgentConversation(name, initialTask, progress);
  /** Lifts the budget or timeout hold of a paused agent: its limit raised to `raiseTo`, or lifted. */
  resumeAgent = (name: string, raiseTo?: number) => this.p.agents.resumeAgent(name, raiseTo);
  wakeAgent = (name: string, progress?: Progress): Promise<{ agent: string; status: AgentStatus; claude_session_id: string | null; woke: boolean }> =>
    this.p.agents.wakeAgent(name, progress);
  spawnAgent = (input: Parameters<AgentLifecycle['spawnAgent']>[0], opts?: Parameters<AgentLifecycle['spawnAgent']>[1]) =>
    this.p.agents.spawnAgent(input, opts);

  /** With queue: true while the account (or the agent) is at a usage limit, the message is queued until the reset. */
  sendMessage = (name: string, input: Parameters<QueuedWork['sendMessage']>[1], progress?: Progress) => this.p.queued.sendMessage(name, input, progress);

  /** Counts what the agent's transcripts gained (its hooks ask over the agent socket); undefined: no such agent. */
  countUsage(name: string, toolUseId?: string): ReturnType<UsageLedger['count']> {
    return this.p.ledger.count(name, toolUseId);
  }

  /** An agent's PreToolUse decided for its perl hook: usage counted, the boundary's verdict (tool-guard.ts). */
  preToolUse(caller: VerifiedAgent, input: Parameters<ToolGuard['preToolUse']>[1]): ReturnType<ToolGuard['preToolUse']> {
    return this.p.guard.preToolUse(caller, input);
  }

  listRoles(): { roles: ReturnType<RoleCatalogue['view']> } {
    return { roles: this.p.roles.view() };
  }

  /** Calls `listener` when an agent needs a person (budget, stuck, crashed, …; supervisor/notices.ts). */
  onNotice(listener: (n: LevelledNotice) => void): () => void {
    return this.p.notices.onNotice(listener);
  }

  /** Calls `listener` for every status change the supervisor observes; returns an unsubscribe. */
  onStatusChange(listener: (c: StatusChange) => void): () => void {
    return this.p.services.observer.onChange(listener);
  }

  /** Calls `listener` as each delivery confirms or gives up, with its time from typing; returns an unsubscribe. */
  onDelivery(listener: (d: DeliveryTiming) => void): () => void {
    const listeners = this.p.services.deliveries!;
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  // ---- messages between agents (messages.ts) ---------------------------------------------

  /** Messages of a session (no text): list_messages and `tabcrew messages`. */
  async listMessages(input: { session: string; agent?: string; since?: string }): Promise<{ session_id: string; messages: MessageSummary[] }> {
    const session = findSession(await this.p.services.store.read(), input.session);
    return { session_id: session.id, ...(await this.p.mail.list({ session, agent: input.agent, since: input.since })) };
  }

  showMessage(id: string): ReturnType<MessageCenter['show']> {
    return this.p.mail.show(id);
  }

  // ---- coordination runs (coordination.ts) -----------------------------------------------

  /** coordinate_agents: from the MCP client, or from an agent (caller) within its own session. */
  coordinate = (input: CoordinateInput, opts: { caller?: Caller; progress?: Progress } = {}): Promise<RunView> =>
    this.p.coordinator.start(input, opts.caller, opts.progress);
  getCoordination = (runId: string, opts: { caller?: Caller } = {}): Promise<RunView> => this.p.coordinator.get(runId, opts.caller);
  cancelCoordination = (runId: string, opts: { interrupt?: boolean; caller?: Caller } = {}) =>
    this.p.coordinator.cancel(runId, { interrupt: opts.interrupt }, opts.caller);
  listRuns = async (opts: { session?: string; caller?: Caller } = {}): Promise<{ runs: RunSummary[] }> => ({
    runs: await this.p.coordinator.list(opts.session, opts.caller),
  });
  /** After a restart: goes on collecting the runs whose tabcrew stopped. */
  resumeRuns = () => this.p.coordinator.resume();
  /** This tabcrew stops: its runs are left for the next one to collect. */
  suspendRuns = () => this.p.coordinator.suspend();
  /** Resolves when the runs this process collects have ended. */
  runsSettled = () => this.p.coordinator.settled();

  // ---- permission requests (permissions.ts) and recovery (recovery.ts) -------------------

  /** Permission dialogs only (list_pending_permissions); listPendingRequests has questions and plans too. */
  listPendingPermissions = (session?: string): Promise<PendingPermission[]> => this.p.permissions.list(session, 'permission');
  listPendingRequests = (session?: string, kind?: RequestKind): Promise<PendingRequest[]> => this.p.permissions.list(session, kind);
  pendingPermission = (requestId: string): Promise<PendingRequest> => this.p.permissions.pending(requestId);
  /** Whether a permission request id is this machine's (a front routes it here, never to a node). */
  holdsPermissionRequest = (requestId: string): Promise<boolean> => this.p.permissions.holds(requestId);
  decidePermission = (input: {
    request_id: string;
    decision: 'allow' | 'deny';
    reason?: string;
    answers?: QuestionAnswer[];
    by: string;
  }): Promise<PermissionDecision> => this.p.permissions.decide(input);
  /** Calls `listener` for each request (permission, question, plan) newly seen; returns an unsubscribe. */
  onPermissionRequest = (listener: (p: PendingPermission) => void): (() => void) => this.p.permissions.onRequest(listener);

  /** Brings every agent back after a restart (supervisor/recovery.ts). */
  recover(input: { session?: string; dry_run?: boolean; close_orphans?: boolean } = {}, progress?: Progress): Promise<RecoveryReport> {
    return this.p.recovery.recover(input, progress);
  }
}
