import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { AuditLog } from '../audit/audit-log.js';
import type { Logger } from '../audit/logger.js';
import { SCREEN_PADDING_ROWS, screenTail } from '../claude/screen-tail.js';
import { removeAgentDir } from '../claude/launch.js';
import { launchChoiceProblem } from '../claude/launch-options.js';
import { recentTurns, type Turn } from '../claude/transcript.js';
import type { Tokens } from '../claude/watch.js';
import type { Config } from '../config.js';
import type { StateStore } from '../store/state-store.js';
import type { AgentRecord, AgentStatus, SessionRecord, State, StatusSource } from '../store/types.js';
import type { TabInfo, TerminalBackend } from '../terminals/backend.js';
import type { DeliveryTiming, Progress, SupervisorContext } from './context.js';
import { checkMessage, deliver, type DeliveryResult } from './delivery.js';
import { LimitError, UserError } from './errors.js';
import { findOnPath } from '../util/find-on-path.js';
import { newClaudeSessionId, newSessionId } from './ids.js';
import { launchAgent, stopAgentProcess } from './lifecycle.js';
import { checkSandbox } from './sandbox-choice.js';
import { AgentObserver, findTab, type StatusChange } from './observer.js';
import { HEARTBEAT_MS, Owner } from './owner.js';
import { checkRoot, permissionModeFor, denyRulesFor, type PolicyOptions } from './policy.js';
import { PermissionBroker, type PendingPermission, type PermissionDecision } from './permissions.js';

import { RateLimiter } from './rate-limit.js';
import { findSession, handleOf, realpathOrSelf, setStatus } from './records.js';
import { planRecovery, type Orphan, type RECOVERY_ACTIONS, type RecoveryStep } from './recovery.js';
import { overlapMessage, overlappingSession, resolveRoot } from './roots.js';
import { writeBoundaries } from './boundaries.js';
import { KeyedMutex } from './timing.js';
import { readTodo } from './todo.js';
import { MessageCenter, type MessageSummary } from './messages.js';
import { AgentDesk } from './agent-desk.js';
import { loadRolesFile, RoleCatalogue, type Role } from '../claude/roles.js';
import { callerAgent, checkChildLimits, childrenOf, descendantsOf, type Caller } from './children.js';
import { Coordinator, type CoordinateInput } from './coordination.js';
import type { RunSummary, RunView } from './coordination-view.js';
import { loadPriceTable } from '../claude/prices.js';
import { claudeConfigDir } from '../claude/watch.js';
import { applyResume, limitsOf } from './budgets.js';
import type { Health } from './health.js';
import { Keeper, type Notice } from './keeper.js';
import { addWorktree, checkGitRoot, checkRemovable, removeWorktree, worktreeStatus, type WorktreeStatus } from './worktrees.js';
import { sumUsage, UsageMeter, type UsageView } from './usage.js';
import { conversationTokens, UsageLedger } from './usage-ledger.js';

export interface AgentStatusView {
  agent: string;
  status: AgentStatus;
  status_source: StatusSource;
  since: string;
  claude_session_id: string | null;
  tokens: Tokens;
  last_reply?: string;
  tasks: { open: number; done: number };
  /** Its role: a catalogue id with its title, or the caller's own text (custom). */
  role?: { id?: string; title: string; custom: boolean };
  /** The agent that spawned it, and the ones it spawned: the session's tree. */
  parent?: string;
  children?: string[];
  /** Tokens per model and cost (supervisor/usage.ts), health, and why it is paused. */
  usage: UsageView;
  health: Health;
  paused?: { reason: string; limit: string; value: number; used: number; at: string };
  worktree?: WorktreeStatus;
  /** The OS sandbox of its last launch and what it shows (claude/sandbox.ts). */
  sandbox?: AgentRecord['sandbox'];
}

export interface SessionStatusView {
  session_id: string;
  name: string;
  root: string;
  agents: AgentStatusView[];
  todo: { path: string; open: number; done: number } | null;
  usage: UsageView;
  crew_usage: UsageView;
}

export type { StatusChange } from './observer.js';

export interface RecoveredAgent {
  agent: string;
  claude_session_id: string;
  status: AgentStatus;
  action: (typeof RECOVERY_ACTIONS)[number];
}

export interface RecoveryReport {
  recovered: RecoveredAgent[];
  adopted: string[];
  failed: { agent: string; reason: string }[];
  orphans: Orphan[];
  /** Orphan tabs closed because close_orphans was asked. */
  closed_orphans?: string[];
  /** Agents another live tabcrew is launching: left to it. */
  skipped?: { agent: string; reason: string }[];
  dry_run?: true;
}

export interface CreateAgentInput {
  session: string;
  role?: string;
  model?: string;
  permission_mode?: string;
  initial_task?: string;
  /** The spawning agent (spawnAgent); the child limits apply. */
  parent?: string;
  max_cost_usd?: number;
  max_tokens?: number;
  timeout_minutes?: number;
  interrupt?: boolean;
  /** "worktree": the agent works in its own git worktree on branch tabcrew/<agent> (supervisor/worktrees.ts). */
  isolation?: 'none' | 'worktree';
  /** Paths its OS sandbox shows too (supervisor/sandbox-choice.ts): `DIR` or `DIR:rw`. */
  sandbox_extra_paths?: string[];
}

const SESSION_NAME = /^[^\p{Cc}[\]]{1,64}$/u;

/**
 * The one object the MCP tools talk to. It owns every rule: naming, limits, the agent
 * state machine, the delivery transaction. Terminals and Claude Code are reached only
 * through the backend and the claude layer.
 */
export class Supervisor {
  private readonly ctx: SupervisorContext;
  private readonly messages: RateLimiter;
  private readonly policy: PolicyOptions;
  /** Agent-to-agent messages (supervisor/messages.ts); `serve` starts their push delivery. */
  readonly mail: MessageCenter;
  /** What agents call through their own MCP server (supervisor/agent-desk.ts). */
  readonly desk: AgentDesk;
  private readonly roles: RoleCatalogue;
  private readonly coordinator: Coordinator;
  private readonly permissions: PermissionBroker;

  /** Budgets, health, relaunches, usage records (docs/long-running.md); `serve` starts its timer. */
  readonly keeper: Keeper;
  /** Usage counted into the state as transcripts grow; agents' hooks ask for a count over the agent socket. */
  readonly usage: UsageLedger;

  constructor(deps: { config: Config; store: StateStore; backend: TerminalBackend; log: Logger; env?: NodeJS.ProcessEnv; audit?: Pick<AuditLog, 'append'> }) {
    const env = deps.env ?? process.env;
    const observer = new AgentObserver({ store: deps.store, backend: deps.backend, log: deps.log, runtimeDir: deps.config.runtimeDir, env, audit: deps.audit });
    this.ctx = { ...deps, env, mutex: new KeyedMutex(), observer, owner: new Owner() };
    const c = deps.config;
    this.messages = new RateLimiter(c.rateLimitBurst, c.rateLimitPerMinute);
    this.policy = { level: c.securityLevel, allowBypass: c.allowBypass, allowedRoots: c.allowedRoots.map(realpathOrSelf) };
    this.mail = new MessageCenter(this.ctx, c.messageTtlS);
    this.desk = new AgentDesk(this.ctx, this.mail);
    this.mail.wake = (name) => this.wakeAgent(name);
    this.permissions = new PermissionBroker({ store: deps.store, runtimeDir: c.runtimeDir, log: deps.log, audit: deps.audit });
    // Read at start: a bad roles file stops tabcrew with what is wrong in it.
    this.roles = new RoleCatalogue(c.rolesFile ? loadRolesFile(c.rolesFile) : []);
    this.coordinator = new Coordinator(this.ctx, {
      send: (agent, message, deliveryId, idleWaitS) => this.sendMessage(agent, { message, delivery_id: deliveryId, idle_wait_s: idleWaitS }),
      spawn: async (sessionId, spec, caller) => (await this.spawnAgent({ session: sessionId, ...spec }, { caller })).agent,
      remove: async (agent) => void (await this.deleteAgent(agent, { cascade: true })),
    });
    this.usage = new UsageLedger({ store: deps.store, claudeConfigDir: claudeConfigDir(env), log: deps.log, audit: deps.audit });
    const meter = new UsageMeter(loadPriceTable(c.pricesFile), this.usage);
    this.keeper = new Keeper({ ctx: this.ctx, meter, relaunch: (name) => this.relaunchAgent(name), hibernate: (name) => this.hibernateAgent(name) });
  }

  /** Messages of a session (no text): list_messages and `tabcrew messages`. */
  async listMessages(input: { session: string; agent?: string; since?: string }): Promise<{ session_id: string; messages: MessageSummary[] }> {
    const session = findSession(await this.ctx.store.read(), input.session);
    return { session_id: session.id, ...(await this.mail.list({ session, agent: input.agent, since: input.since })) };
  }

  get securityLevel(): Config['securityLevel'] {
    return this.ctx.config.securityLevel;
  }

  get backend(): TerminalBackend {
    return this.ctx.backend;
  }

  // ---- sessions -------------------------------------------------------------------

  async createSession(input: { root: string; name?: string }): Promise<{ session_id: string; name: string; root: string }> {
    const root = await resolveRoot(input.root);
    checkRoot(root, this.policy);
    const name = (input.name ?? basename(root)).trim() || 'root';
    if (!SESSION_NAME.test(name)) {
      throw new UserError(`session name "${name}" is not allowed: use 1–64 characters without control characters or brackets.`);
    }
    const { config } = this.ctx;
    const session = await this.ctx.store.update((state) => {
      const other = overlappingSession(root, state.sessions);
      if (other) throw new UserError(overlapMessage(root, other));
      if (state.sessions.some((s) => s.name === name)) {
        throw new UserError(`a session named "${name}" already exists: pass a different name.`);
      }
      if (state.sessions.length >= config.maxSessions) {
        throw new LimitError(
          `tabcrew already runs ${state.sessions.length} sessions, the limit set by --max-sessions (${config.maxSessions}). Delete a session or restart tabcrew with a higher --max-sessions.`,
        );
      }
      const record: SessionRecord = { id: newSessionId(), name, root, createdAt: new Date().toISOString() };
      state.sessions.push(record);
      return record;
    });
    await writeBoundaries(this.ctx.store, config);
    this.ctx.log.info('session created', { session: session.id });
    return { session_id: session.id, name: session.name, root: session.root };
  }

  /** The id and name of a session given by either. */
  async sessionNames(ref: string): Promise<{ id: string; name: string }> {
    const s = findSession(await this.ctx.store.read(), ref);
    return { id: s.id, name: s.name };
  }

  async listSessions(): Promise<{ sessions: { session_id: string; name: string; root: string; agents: string[] }[] }> {
    const state = await this.ctx.store.read();
    return {
      sessions: state.sessions.map((s) => ({
        session_id: s.id,
        name: s.name,
        root: s.root,
        agents: state.agents.filter((a) => a.sessionId === s.id).map((a) => a.name),
      })),
    };
  }

  async getSessionStatus(sessionRef: string): Promise<SessionStatusView> {
    const state = await this.ctx.store.read();
    const session = findSession(state, sessionRef);
    const agents = state.agents.filter((a) => a.sessionId === session.id);
    const statuses = await this.ctx.observer.observe(session, agents);
    const todo = await readTodo(session.root);
    const views: AgentStatusView[] = [];
    for (const agent of agents) {
      const live = statuses.get(agent.name)!;
      const watch = this.ctx.observer.watch(agent, session);
      const transcript = watch ? await watch.readTranscript().catch(() => undefined) : undefined;
      const counted = await this.usage.count(agent.name).catch(() => undefined);
      views.push({
        agent: agent.name,
        status: live.status,
        status_source: live.source,
        since: live.since ? new Date(live.since).toISOString() : agent.since,
        claude_session_id: agent.claudeSessionId,
        tokens: conversationTokens(counted, agent.claudeSessionId),
        ...(transcript?.lastReply !== undefined ? { last_reply: transcript.lastReply } : {}),
        tasks: todo?.byAgent.get(agent.name) ?? { open: 0, done: 0 },
        ...(agent.launch.role !== undefined ? { role: this.roleView(agent.launch) } : {}),
        ...(agent.parent ? { parent: agent.parent } : {}),
        ...(childrenOf(state, agent.name).length ? { children: childrenOf(state, agent.name).map((c) => c.name) } : {}),
        ...(await this.keeper.statusExtras(agent, session, live)),
        ...(agent.sandbox ? { sandbox: agent.sandbox } : {}),
      });
    }
    const crew = await this.keeper.crewUsage(await this.ctx.store.read());
    return {
      session_id: session.id,
      name: session.name,
      root: session.root,
      agents: views,
      todo: todo ? { path: todo.path, open: todo.open, done: todo.done } : null,
      usage: sumUsage(views.map((v) => v.usage)),
      crew_usage: crew.total,
    };
  }

  async deleteSession(sessionRef: string): Promise<{ session_id: string; deleted: true; agents_deleted: string[] }> {
    // Marked first, under the lock: from then on no create_agent (of any tabcrew on this
    // state) reserves an agent in it, so the agents listed below are all there will be.
    const session = await this.ctx.store.update((state) => {
      const s = findSession(state, sessionRef);
      s.deleting = true;
      return structuredClone(s);
    });
    const deleted: string[] = [];
    for (const agent of (await this.ctx.store.read()).agents.filter((a) => a.sessionId === session.id)) {
      await this.deleteAgent(agent.name, { cascade: true, keepDirtyWorktree: true }).catch((e: unknown) => {
        // Deleted meanwhile by another call: nothing left to stop.
        if (!(e instanceof UserError)) throw e;
      });
      deleted.push(agent.name);
    }
    await this.ctx.store.update((state) => {
      state.sessions = state.sessions.filter((s) => s.id !== session.id);
    });
    await writeBoundaries(this.ctx.store, this.ctx.config);
    this.ctx.log.info('session deleted', { session: session.id, agents: deleted });
    return { session_id: session.id, deleted: true, agents_deleted: deleted };
  }

  // ---- agents ---------------------------------------------------------------------

  async createAgent(
    input: CreateAgentInput,
    progress?: Progress,
  ): Promise<{
    agent: string;
    session_id: string;
    status: AgentStatus;
    claude_session_id: string;
    backend: string;
    note?: string;
    trust?: string;
    api_key?: string;
  }> {
    const problem = launchChoiceProblem(input);
    if (problem) throw new UserError(`${problem} Nothing was created.`);
    const role = input.role === undefined ? undefined : this.roles.resolve(input.role);
    if (input.initial_task !== undefined) checkMessage(input.initial_task);
    const isolated = input.isolation === 'worktree';
    if (isolated) await checkGitRoot(findSession(await this.ctx.store.read(), input.session).root);
    else findSession(await this.ctx.store.read(), input.session);
    const permissionMode = permissionModeFor(input.permission_mode, this.policy);
    this.checkClaude();
    checkSandbox(this.ctx.config, this.ctx.env, input.sandbox_extra_paths);
    const { config, owner } = this.ctx;
    // Reserve the name first, under the lock: two tabcrew processes never hand out one name.
    // The reservation carries this process as its owner until the tab is recorded, so no
    // other tabcrew's recovery launches the agent meanwhile.
    const { agent, session, peers } = await this.ctx.store.update((state) => {
      const session = findSession(state, input.session);
      if (session.deleting) throw new UserError(`session "${session.name}" is being deleted; nothing was created. Create a new session for the agent.`);
      if (state.agents.length >= config.maxAgents) {
        throw new LimitError(
          `tabcrew already supervises ${state.agents.length} agents, the limit set by --max-agents (${config.maxAgents}). Delete an agent or restart tabcrew with a higher --max-agents.`,
        );
      }
      if (input.parent) checkChildLimits(state, input.parent, config);
      const now = new Date().toISOString();
      const agent: AgentRecord = {
        name: `Agent_${state.nextAgentNumber++}`,
        sessionId: session.id,
        launch: {
          role: role && !role.custom ? role.id : input.role,
          ...(role && !role.custom ? { roleTitle: role.title, roleGuidance: role.guidance } : {}),
          model: input.model,
          permissionMode,
          ...(input.sandbox_extra_paths?.length ? { sandboxExtraPaths: input.sandbox_extra_paths } : {}),
        },
        claudeSessionId: newClaudeSessionId(),
        pastClaudeSessionIds: [],
        status: 'starting',
        statusSource: 'supervisor',
        since: now,
        tab: null,
        createdAt: now,
        owner: owner.stamp(),
        ...(input.parent ? { parent: input.parent } : {}),
        ...limitsOf(input),
      };
      state.agents.push(agent);
      const peers = state.agents.filter((a) => a.sessionId === session.id && a.name !== agent.name).map((a) => a.name);
      return { agent, session, peers };
    });
    this.ctx.log.info('agent reserved', { agent: agent.name, session: session.id });
    return this.ctx.mutex.run(agent.name, async () => {
      let launched;
      let tree: Awaited<ReturnType<typeof addWorktree>> | undefined;
      try {
        if (isolated) {
          tree = await addWorktree(session.root, agent.name);
          agent.worktree = { path: tree.path, branch: tree.branch, base: tree.base };
          await this.patchAgent(agent.name, (a) => (a.worktree = agent.worktree));
        }
        launched = await this.launch(agent, session, peers, false, progress);
      } catch (e) {
        // Nothing runs under this name: forget it (the number stays used, names are never reused).
        await this.ctx.store.update((state) => {
          state.agents = state.agents.filter((a) => a.name !== agent.name);
        });
        if (tree) await removeWorktree(session.root, tree, { force: true, deleteBranch: !tree.reused_branch }).catch(() => undefined);
        throw e;
      }
      let note = launched.note;
      if (input.initial_task !== undefined) {
        if (launched.status === 'idle') {
          const sent = await this.sendMessageLocked(agent.name, { message: input.initial_task }, progress);
          if (sent.delivered !== 'confirmed') note = `initial_task delivery unconfirmed: ${sent.note ?? ''}`.trim();
        } else {
          note = `${note ?? ''} initial_task was not sent; send it with send_message_to_agent once the agent is idle.`.trim();
        }
      }
      return {
        agent: agent.name,
        session_id: session.id,
        status: launched.status === 'idle' && input.initial_task !== undefined ? 'busy' : launched.status,
        claude_session_id: agent.claudeSessionId!,
        backend: this.ctx.backend.name,
        ...(launched.trust ? { trust: launched.trust } : {}),
        ...(launched.apiKey ? { api_key: launched.apiKey } : {}),
        ...(launched.onboarding ? { onboarding: launched.onboarding } : {}),
        ...(note ? { note } : {}),
      };
    });
  }

  /** The helpers deleting `name` would take with it (its children, theirs, …). */
  async helpersOf(name: string): Promise<string[]> {
    return descendantsOf(await this.ctx.store.read(), name);
  }

  async deleteAgent(
    name: string,
    opts: { cascade?: boolean; force?: boolean; delete_branch?: boolean; keepDirtyWorktree?: boolean } = {},
  ): Promise<{
    agent: string;
    deleted: true;
    transcript_path?: string;
    children_deleted?: string[];
    worktree?: { removed: boolean; branch_deleted: boolean; kept_dirty?: true };
  }> {
    const helpers = descendantsOf(await this.ctx.store.read(), name);
    if (helpers.length && !opts.cascade) {
      throw new UserError(
        `${name} has helpers of its own (${helpers.join(', ')}); nothing was deleted. Delete them first, or pass cascade: true to delete them with ${name}.`,
      );
    }
    for (const child of helpers) {
      await this.deleteAgent(child).catch((e: unknown) => {
        // Deleted meanwhile by another call: nothing left to stop.
        if (!(e instanceof UserError)) throw e;
      });
    }
    const deleted = await this.ctx.mutex.run(name, async () => {
      const { agent, session } = await this.findAgent(name);
      const tree = agent.worktree;
      // Refused before anything stops: uncommitted work in the agent's worktree is never thrown away unasked.
      const keepTree = tree && opts.keepDirtyWorktree && !opts.force && (await worktreeStatus(tree)).dirty_files;
      if (tree && !keepTree) await checkRemovable(name, tree, !!opts.force);
      const transcriptPath = await this.stop(agent, session);
      const worktree = tree
        ? keepTree
          ? { removed: false, branch_deleted: false, kept_dirty: true as const }
          : await removeWorktree(session.root, tree, { force: opts.force, deleteBranch: opts.delete_branch })
        : undefined;
      await this.ctx.store.update((state) => {
        state.agents = state.agents.filter((a) => a.name !== name);
      });
      for (const id of [agent.claudeSessionId, ...agent.pastClaudeSessionIds]) {
        if (id) await removeAgentDir(this.ctx.config.runtimeDir, id);
      }
      this.ctx.log.info('agent deleted', { agent: name });
      return { agent: name, deleted: true as const, ...(transcriptPath ? { transcript_path: transcriptPath } : {}), ...(worktree ? { worktree } : {}) };
    });
    return { ...deleted, ...(helpers.length ? { children_deleted: helpers } : {}) };
  }

  async clearAgentConversation(name: string): Promise<{ agent: string; status: 'cleared'; transcript_path?: string }> {
    return this.ctx.mutex.run(name, async () => {
      const { agent, session } = await this.findAgent(name);
      const transcriptPath = await this.stop(agent, session);
      await this.patchAgent(name, (a) => {
        if (a.claudeSessionId) a.pastClaudeSessionIds.push(a.claudeSessionId);
        a.claudeSessionId = null;
        a.tab = null;
        setStatus(a, { status: 'cleared', source: 'supervisor' });
      });
      this.ctx.log.info('agent conversation cleared', { agent: name });
      return { agent: name, status: 'cleared', ...(transcriptPath ? { transcript_path: transcriptPath } : {}) };
    });
  }

  async startNewAgentConversation(
    name: string,
    initialTask?: string,
    progress?: Progress,
  ): Promise<{ agent: string; claude_session_id: string; status: AgentStatus; note?: string }> {
    if (initialTask !== undefined) checkMessage(initialTask);
    this.checkClaude();
    return this.ctx.mutex.run(name, async () => {
      const { agent, session } = await this.findAgent(name);
      if (agent.claudeSessionId) await this.stop(agent, session);
      const fresh = await this.patchAgent(name, (a) => {
        if (a.claudeSessionId) a.pastClaudeSessionIds.push(a.claudeSessionId);
        a.claudeSessionId = newClaudeSessionId();
        a.tab = null;
        setStatus(a, { status: 'starting', source: 'supervisor' });
      });
      const state = await this.ctx.store.read();
      const peers = state.agents.filter((a) => a.sessionId === session.id && a.name !== name).map((a) => a.name);
      const launched = await this.launch(fresh, session, peers, false, progress);
      let note = launched.note;
      let status = launched.status;
      if (initialTask !== undefined && status === 'idle') {
        const sent = await this.sendMessageLocked(name, { message: initialTask }, progress);
        status = sent.status;
        if (sent.delivered !== 'confirmed') note = sent.note;
      }
      return { agent: name, claude_session_id: fresh.claudeSessionId!, status, ...(note ? { note } : {}) };
    });
  }

  async sendMessage(
    name: string,
    input: { message: string; wait_for_reply?: boolean; timeout_s?: number; prepend_protocol?: boolean; idle_wait_s?: number; delivery_id?: string },
    progress?: Progress,
  ): Promise<DeliveryResult> {
    checkMessage(input.message);
    await this.findAgent(name);
    await this.keeper.admit(name);
    this.messages.take(name, 'send_message_to_agent');
    try {
      // Delivery waits for a hibernated agent to wake, with its conversation.
      if ((await this.findAgent(name)).agent.hibernated) await this.wakeAgent(name, progress);
      return await this.ctx.mutex.run(name, () => this.sendMessageLocked(name, input, progress));
    } catch (e) {
      // Refused or timed out before anything was typed: the agent received nothing.
      if (e instanceof UserError) this.messages.refund(name);
      throw e;
    }
  }

  async getAgentOutput(name: string, lines = 100): Promise<{ agent: string; screen: string; last_reply?: string; note?: string }> {
    const { agent, session } = await this.findAgent(name);
    const watch = this.ctx.observer.watch(agent, session);
    const transcript = watch ? await watch.readTranscript().catch(() => undefined) : undefined;
    const lastReply = transcript?.lastReply !== undefined ? { last_reply: transcript.lastReply } : {};
    const tab = agent.claudeSessionId ? findTab(agent, await this.ctx.backend.listTabs()) : undefined;
    if (!tab) return { agent: name, screen: '', ...lastReply, note: `${name} has no tab (${agent.status === 'cleared' ? 'cleared' : 'its tab is gone'}).` };
    try {
      const screen = await this.ctx.backend.readScreen(tab, lines + SCREEN_PADDING_ROWS);
      return { agent: name, screen: screenTail(screen, lines), ...lastReply };
    } catch (e) {
      return { agent: name, screen: '', ...lastReply, note: `${name}'s tab could not be read: ${(e as Error).message}` };
    }
  }

  /** The last `turns` prompts of the agent's conversation with their replies. */
  async getAgentTranscript(name: string, turns = 10): Promise<{ agent: string; claude_session_id: string | null; turns: Turn[] }> {
    const { agent, session } = await this.findAgent(name);
    const watch = this.ctx.observer.watch(agent, session);
    if (!watch) return { agent: name, claude_session_id: null, turns: [] };
    await watch.refresh();
    let text = '';
    try {
      text = await readFile(watch.transcriptPath(), 'utf8');
    } catch {
      // no transcript yet: the conversation has no message
    }
    return { agent: name, claude_session_id: agent.claudeSessionId, turns: recentTurns(text, turns) };
  }

  /** TODO.md of the session root, as text (null when there is none). */
  async getTodo(ref: string): Promise<{ session_id: string; path: string; text: string | null }> {
    const session = findSession(await this.ctx.store.read(), ref);
    const path = join(session.root, 'TODO.md');
    try {
      return { session_id: session.id, path, text: await readFile(path, 'utf8') };
    } catch {
      return { session_id: session.id, path, text: null };
    }
  }

  /** Lifts the budget or timeout hold of a paused agent: its limit raised to `raiseTo`, or lifted. */
  async resumeAgent(name: string, raiseTo?: number): Promise<{ agent: string; status: AgentStatus; limit: string; raised_to: number | null }> {
    await this.findAgent(name);
    const { limit, now } = await this.ctx.store.update((state) => {
      const a = state.agents.find((x) => x.name === name)!;
      return applyResume(state, a, raiseTo);
    });
    await this.ctx.audit?.append({ type: 'budget', action: 'resume', agent: name, limit, raised_to: now });
    const live = await this.ctx.observer.observeOne(name);
    return { agent: name, status: live.status, limit, raised_to: now };
  }

  /** Wakes a hibernated agent: its Claude Code is started again with --resume, in a new tab. */
  async wakeAgent(name: string, progress?: Progress): Promise<{ agent: string; status: AgentStatus; claude_session_id: string | null; woke: boolean }> {
    return this.ctx.mutex.run(name, async () => {
      const { agent, session } = await this.findAgent(name);
      if (!agent.hibernated) {
        return { agent: name, status: (await this.ctx.observer.observeOne(name)).status, claude_session_id: agent.claudeSessionId, woke: false };
      }
      const outcome = await this.resume(agent, session, undefined, progress);
      if ('reason' in outcome || 'skipped' in outcome) {
        const why = 'reason' in outcome ? outcome.reason : outcome.skipped;
        throw new UserError(
          `${name} could not be woken (${why}); it stays hibernated and nothing was typed. Look with get_agent_output, then call wake_agent again.`,
        );
      }
      await this.patchAgent(name, (a) => delete a.hibernated);
      await this.ctx.audit?.append({ type: 'hibernation', action: 'wake', agent: name, session: session.id, claude_session_id: agent.claudeSessionId });
      return { agent: name, status: (await this.ctx.observer.observeOne(name)).status, claude_session_id: agent.claudeSessionId, woke: true };
    });
  }

  /** Calls `listener` when an agent needs a person (budget, stuck, crashed, …; supervisor/keeper.ts). */
  onNotice(listener: (n: Notice) => void): () => void {
    return this.keeper.onNotice(listener);
  }

  /** Calls `listener` for every status change the supervisor observes; returns an unsubscribe. */
  onStatusChange(listener: (c: StatusChange) => void): () => void {
    return this.ctx.observer.onChange(listener);
  }

  /** Calls `listener` as each delivery confirms or gives up, with its time from typing; returns an unsubscribe. */
  onDelivery(listener: (d: DeliveryTiming) => void): () => void {
    const listeners = (this.ctx.deliveries ??= new Set());
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  // ---- roles, helpers of their own, coordination runs --------------------------------

  listRoles(): { roles: Role[] } {
    return { roles: this.roles.list() };
  }

  /**
   * An agent starts a helper of its own (its MCP server's spawn_agent), or the MCP client
   * starts an agent (no caller agent: the same as createAgent). An agent's helper goes into
   * the agent's own session, records it as its parent and counts toward --max-children,
   * --max-depth and --max-agents.
   */
  async spawnAgent(
    input: { session?: string; role?: string; model?: string; task?: string },
    opts: { caller?: Caller; progress?: Progress } = {},
  ): Promise<Awaited<ReturnType<Supervisor['createAgent']>> & { parent?: string }> {
    const caller = opts.caller ?? {};
    const state = await this.ctx.store.read();
    const sessionId = input.session === undefined ? undefined : findSession(state, input.session).id;
    const me = callerAgent(state, caller, sessionId);
    if (!me && sessionId === undefined) throw new UserError('spawn needs a session: pass session (id or name).');
    const session = me?.sessionId ?? sessionId!;
    const created = await this.createAgent(
      { session, role: input.role, model: input.model, initial_task: input.task, ...(me ? { parent: me.name } : {}) },
      opts.progress,
    );
    if (me) await this.ctx.audit?.append({ type: 'spawn', agent: created.agent, parent: me.name, session, outcome: 'ok' });
    return { ...created, ...(me ? { parent: me.name } : {}) };
  }

  /** coordinate_agents: from the MCP client, or from an agent (caller) within its own session. */
  async coordinate(input: CoordinateInput, opts: { caller?: Caller; progress?: Progress } = {}): Promise<RunView> {
    return this.coordinator.start(input, opts.caller, opts.progress);
  }

  async getCoordination(runId: string, opts: { caller?: Caller } = {}): Promise<RunView> {
    return this.coordinator.get(runId, opts.caller);
  }

  async cancelCoordination(runId: string, opts: { interrupt?: boolean; caller?: Caller } = {}): Promise<RunView & { interrupted?: string[] }> {
    return this.coordinator.cancel(runId, { interrupt: opts.interrupt }, opts.caller);
  }

  async listRuns(opts: { session?: string; caller?: Caller } = {}): Promise<{ runs: RunSummary[] }> {
    return { runs: await this.coordinator.list(opts.session, opts.caller) };
  }

  /** After a restart: goes on collecting the runs whose tabcrew stopped. */
  async resumeRuns(): Promise<string[]> {
    return this.coordinator.resume();
  }

  /** This tabcrew stops: its runs are left for the next one to collect. */
  async suspendRuns(): Promise<void> {
    return this.coordinator.suspend();
  }

  /** Resolves when the runs this process collects have ended. */
  async runsSettled(): Promise<void> {
    return this.coordinator.settled();
  }

  private roleView(launch: AgentRecord['launch']): { id?: string; title: string; custom: boolean } {
    if (launch.roleTitle) return { id: launch.role, title: launch.roleTitle, custom: false };
    return { title: launch.role ?? '', custom: true };
  }

  // ---- permission requests (supervisor/permissions.ts) -------------------------------

  listPendingPermissions(session?: string): Promise<PendingPermission[]> {
    return this.permissions.list(session);
  }

  pendingPermission(requestId: string): Promise<PendingPermission> {
    return this.permissions.pending(requestId);
  }

  /** Whether a permission request id is this machine's (a front routes it here, never to a node). */
  holdsPermissionRequest(requestId: string): Promise<boolean> {
    return this.permissions.holds(requestId);
  }

  decidePermission(input: { request_id: string; decision: 'allow' | 'deny'; reason?: string; by: string }): Promise<PermissionDecision> {
    return this.permissions.decide(input);
  }

  /** Calls `listener` for each permission request newly seen; returns an unsubscribe. */
  onPermissionRequest(listener: (p: PendingPermission) => void): () => void {
    return this.permissions.onRequest(listener);
  }

  // ---- recovery ---------------------------------------------------------------------

  /**
   * Brings every agent back after a restart of tabcrew, the terminal app or the machine:
   * a live tab is adopted as it is; a tab that is gone gets a new tab in the agent's root
   * running `claude --resume <id>`, so the conversation continues; a root that is gone, or
   * a resume Claude Code refuses, is reported as failed with the reason. Agents are resumed
   * in parallel: each waits only for its own Claude Code to start.
   */
  async recover(input: { session?: string; dry_run?: boolean; close_orphans?: boolean } = {}, progress?: Progress): Promise<RecoveryReport> {
    if (!input.dry_run) await writeBoundaries(this.ctx.store, this.ctx.config);
    const state = await this.ctx.store.read();
    const only = input.session ? findSession(state, input.session).id : undefined;
    const tabs = await this.ctx.backend.listTabs();
    const plan = planRecovery(state, tabs, only, (a) => !this.ctx.owner.isMine(a.owner) && this.ctx.owner.isLive(a.owner));
    const report: RecoveryReport = { recovered: [], adopted: [], failed: [], orphans: plan.orphans, ...(input.dry_run ? { dry_run: true } : {}) };
    const resumes: RecoveryStep[] = [];
    for (const step of plan.steps) {
      if (step.kind === 'fail') {
        report.failed.push({ agent: step.agent.name, reason: step.reason });
      } else if (step.kind === 'skip') {
        (report.skipped ??= []).push({ agent: step.agent.name, reason: step.reason });
      } else if (step.kind === 'adopt') {
        report.adopted.push(step.agent.name);
        if (!input.dry_run && step.tab.id !== step.agent.tab?.id) await this.patchAgent(step.agent.name, (a) => (a.tab = handleOf(step.tab)));
      } else if (input.dry_run) {
        report.recovered.push({ agent: step.agent.name, claude_session_id: step.agent.claudeSessionId!, status: 'detached', action: 'would_resume' });
      } else {
        resumes.push(step);
      }
    }
    let done = 0;
    const outcomes = await Promise.all(
      resumes.map(async (step) => {
        if (step.kind !== 'resume') throw new Error('unreachable');
        const outcome = await this.ctx.mutex.run(step.agent.name, () => this.resume(step.agent, step.session, step.deadTab, progress));
        progress?.({
          progress: ++done,
          total: resumes.length,
          message: `${step.agent.name}: ${'reason' in outcome ? 'failed' : 'skipped' in outcome ? 'skipped' : outcome.action}`,
        });
        return outcome;
      }),
    );
    for (const outcome of outcomes) {
      if ('skipped' in outcome) (report.skipped ??= []).push({ agent: outcome.agent, reason: outcome.skipped });
      else if ('reason' in outcome) report.failed.push(outcome);
      else report.recovered.push(outcome);
    }
    if (input.close_orphans && !input.dry_run) {
      report.closed_orphans = [];
      for (const o of report.orphans) {
        const tab = tabs.find((t) => t.id === o.tab);
        if (
          tab &&
          (await this.ctx.backend.closeTab(tab).then(
            () => true,
            () => false,
          ))
        )
          report.closed_orphans.push(o.tab);
      }
    }
    if (!input.dry_run) {
      // Appended together, in this order: the audit writer makes one fsync of the lot (group commit), not one per agent.
      const audit = this.ctx.audit;
      const records: Parameters<AuditLog['append']>[0][] = [];
      for (const a of report.adopted) records.push({ type: 'recovery', action: 'adopt', agent: a, outcome: 'ok' });
      for (const r of report.recovered)
        records.push({ type: 'recovery', action: r.action, agent: r.agent, outcome: 'ok', claude_session_id: r.claude_session_id });
      for (const f of report.failed) records.push({ type: 'recovery', action: 'resume', agent: f.agent, outcome: 'failed', reason: f.reason });
      for (const k of report.skipped ?? []) records.push({ type: 'recovery', action: 'resume', agent: k.agent, outcome: 'skipped', reason: k.reason });
      for (const o of report.orphans) {
        const closed = report.closed_orphans?.includes(o.tab);
        records.push({ type: 'recovery', action: closed ? 'orphan_closed' : 'orphan_reported', outcome: 'ok', tab: o.tab, tag: o.tag, why: o.why });
      }
      await Promise.all(records.map((r) => audit?.append(r)));
    }
    this.ctx.log.info('recovery', {
      recovered: report.recovered.map((r) => r.agent),
      adopted: report.adopted,
      failed: report.failed,
      skipped: report.skipped?.map((k) => k.agent) ?? [],
      orphans: report.orphans.length,
      dry_run: !!input.dry_run,
    });
    return report;
  }

  private async resume(
    planned: AgentRecord,
    session: SessionRecord,
    deadTab: TabInfo | undefined,
    progress?: Progress,
  ): Promise<RecoveredAgent | { agent: string; reason: string } | { agent: string; skipped: string }> {
    // Claimed under the lock: of two tabcrews recovering at once, one launches the agent.
    // Batched: the agents resumed together are claimed in one save.
    const owner = this.ctx.owner;
    const claim = await this.ctx.store.updateBatched((state) => {
      const a = state.agents.find((x) => x.name === planned.name);
      // Launched meanwhile (a create_agent of this process held the agent's lock): nothing to resume.
      if (!a || a.claudeSessionId !== planned.claudeSessionId || a.launchId !== planned.launchId) return 'changed' as const;
      if (!owner.isMine(a.owner) && owner.isLive(a.owner)) return 'taken' as const;
      a.owner = owner.stamp();
      setStatus(a, { status: 'detached', source: 'terminal' });
      return structuredClone(a);
    });
    if (claim === 'changed') return { agent: planned.name, reason: 'it changed while recovery ran (deleted or restarted); nothing done' };
    if (claim === 'taken') return { agent: planned.name, skipped: 'another tabcrew process is launching it right now' };
    const agent = claim;
    if (deadTab) await this.ctx.backend.closeTab(deadTab).catch(() => undefined);
    const watch = this.ctx.observer.watch(agent, session)!;
    await watch.refresh();
    // Claude Code writes a transcript only once the conversation has a first message; a
    // conversation without one has nothing to resume and starts again under the same id.
    const resumable = existsSync(watch.transcriptPath());
    const peers = (await this.ctx.store.read()).agents.filter((a) => a.sessionId === session.id && a.name !== agent.name).map((a) => a.name);
    try {
      const launched = await this.launch(agent, session, peers, resumable, progress);
      return { agent: agent.name, claude_session_id: agent.claudeSessionId!, status: launched.status, action: resumable ? 'resumed' : 'restarted' };
    } catch (e) {
      await this.patchAgent(agent.name, (a) => {
        setStatus(a, { status: 'detached', source: 'terminal' });
        delete a.owner;
      }).catch(() => undefined);
      return { agent: agent.name, reason: (e as Error).message };
    }
  }

  /** Stops the Claude Code of an agent idle for --hibernate-after; its conversation stays for the next wake. */
  private async hibernateAgent(name: string): Promise<boolean> {
    return this.ctx.mutex.run(name, async () => {
      const { agent, session } = await this.findAgent(name);
      // Marked before the process stops, so its exit is never taken for a crash.
      if ((await this.ctx.observer.observeOne(name)).status !== 'idle' || agent.hold || agent.hibernated) return false;
      await this.patchAgent(name, (a) => (a.hibernated = { at: new Date().toISOString() }));
      await stopAgentProcess(this.ctx, agent, session);
      await this.patchAgent(name, (a) => (a.tab = null));
      await this.ctx.audit?.append({ type: 'hibernation', action: 'sleep', agent: name, session: session.id, claude_session_id: agent.claudeSessionId });
      await this.ctx.observer.observeOne(name);
      return true;
    });
  }

  /** Resumes, in a new tab, an agent whose Claude Code exited by itself (the keeper decides when). */
  private async relaunchAgent(name: string): Promise<{ ok: true } | { ok: false; reason: string }> {
    return this.ctx.mutex.run(name, async () => {
      const { agent, session } = await this.findAgent(name);
      const dead = findTab(agent, await this.ctx.backend.listTabs());
      const outcome = await this.resume(agent, session, dead);
      if ('reason' in outcome) return { ok: false, reason: outcome.reason };
      if ('skipped' in outcome) return { ok: false, reason: outcome.skipped };
      return { ok: true };
    });
  }

  // ---- internals --------------------------------------------------------------------

  /** Refuses before anything is created when the agents' launcher would not find Claude Code. */
  private checkClaude(): void {
    const { claudePath } = this.ctx.config;
    if (!findOnPath(claudePath, this.ctx.env.PATH)) {
      throw new UserError(
        `Claude Code was not found ("${claudePath}" ${claudePath.includes('/') ? 'is not an executable file' : 'is not on PATH'}). ` +
          'Install it (npm install -g @anthropic-ai/claude-code) or start tabcrew with --claude-path /path/to/claude.',
      );
    }
  }

  private async sendMessageLocked(
    name: string,
    input: { message: string; wait_for_reply?: boolean; timeout_s?: number; prepend_protocol?: boolean; idle_wait_s?: number; delivery_id?: string },
    progress?: Progress,
  ): Promise<DeliveryResult> {
    const { agent, session } = await this.findAgent(name);
    const watch = this.ctx.observer.watch(agent, session);
    if (!watch) {
      throw new UserError(`${name} has no running conversation (${agent.status}); nothing was typed. Call start_new_agent_conversation first.`);
    }
    return deliver(this.ctx, {
      agent: name,
      sessionName: session.name,
      watch,
      message: input.message,
      prependProtocol: input.prepend_protocol ?? true,
      waitForReply: input.wait_for_reply ?? false,
      timeoutS: input.timeout_s ?? 600,
      idleWaitS: input.idle_wait_s ?? 60,
      progress,
      deliveryId: input.delivery_id,
    });
  }

  /**
   * Launches the agent, owned by this supervisor (a heartbeat in its record keeps other
   * tabcrews' recovery off it) until its tab is recorded. If the agent or its session was
   * deleted meanwhile (by another call or another tabcrew), the new tab is closed again.
   */
  private async launch(
    agent: AgentRecord,
    session: SessionRecord,
    peers: string[],
    resume: boolean,
    progress?: Progress,
  ): Promise<{ status: AgentStatus; note?: string; trust?: AgentRecord['trust']; apiKey?: AgentRecord['apiKey']; onboarding?: AgentRecord['onboarding'] }> {
    const otherRoots = (await this.ctx.store.read()).sessions.filter((s) => s.id !== session.id).map((s) => s.root);
    const heartbeat = setInterval(() => {
      void this.ctx.store
        .update((state) => {
          const a = state.agents.find((x) => x.name === agent.name);
          if (a && this.ctx.owner.isMine(a.owner)) a.owner = this.ctx.owner.stamp();
        })
        .catch(() => undefined);
    }, HEARTBEAT_MS);
    let launched;
    try {
      launched = await launchAgent(this.ctx, agent, session, peers, { resume, progress, deny: denyRulesFor(otherRoots, this.policy) });
    } catch (e) {
      await this.patchAgent(agent.name, (a) => {
        setStatus(a, { status: 'exited', source: 'terminal' });
        delete a.owner;
      }).catch(() => undefined);
      throw e;
    } finally {
      clearInterval(heartbeat);
    }
    if (launched.failed) {
      await this.ctx.backend.closeTab(launched.tab).catch(() => undefined);
      throw new UserError(`${agent.name} could not start: ${launched.note}`);
    }
    const status: AgentStatus = launched.ready ? 'idle' : 'starting';
    // Batched with other agents' launches that finish meanwhile (a recovery resumes many at once).
    const kept = await this.ctx.store.updateBatched((state) => {
      const a = state.agents.find((x) => x.name === agent.name);
      const s = state.sessions.find((x) => x.id === session.id);
      if (!a || a.claudeSessionId !== agent.claudeSessionId || !s || s.deleting) return false;
      a.tab = launched.tab;
      a.launchId = launched.launchId;
      a.trust = launched.trust;
      a.sandbox = launched.sandbox;
      a.apiKey = launched.apiKey;
      a.onboarding = launched.onboarding;
      delete a.owner;
      // Launched again by a person (the keeper never launches one it gave up on): relaunches count afresh.
      if (a.relaunch?.gaveUp) delete a.relaunch;
      setStatus(a, { status, source: launched.ready ? 'hook' : 'supervisor' });
      return true;
    });
    if (!kept) {
      await stopAgentProcess(this.ctx, agent, session);
      throw new UserError(`${agent.name} (or its session) was deleted while it started; its tab was closed again.`);
    }
    this.ctx.log.info('agent launched', { agent: agent.name, ready: launched.ready, trust: launched.trust });
    return { status, note: launched.note, trust: launched.trust, apiKey: launched.apiKey, onboarding: launched.onboarding };
  }

  /** Ends the agent's process and closes its tab; returns the transcript path, if any. */
  private async stop(agent: AgentRecord, session: SessionRecord): Promise<string | undefined> {
    const watch = this.ctx.observer.watch(agent, session);
    await stopAgentProcess(this.ctx, agent, session);
    if (!watch) return undefined;
    await watch.refresh().catch(() => undefined);
    this.ctx.observer.forget(watch.claudeSessionId);
    return watch.transcriptPath();
  }

  private async findAgent(name: string): Promise<{ agent: AgentRecord; session: SessionRecord; state: State }> {
    const state = await this.ctx.store.read();
    const agent = state.agents.find((a) => a.name === name);
    if (!agent) {
      const known = state.agents.map((a) => a.name).join(', ') || 'none';
      throw new UserError(`no agent named "${name}" (agents: ${known}). Agent names look like Agent_1.`);
    }
    const session = state.sessions.find((s) => s.id === agent.sessionId);
    if (!session) throw new UserError(`${name} belongs to session ${agent.sessionId}, which no longer exists.`);
    return { agent, session, state };
  }

  private async patchAgent(name: string, patch: (a: AgentRecord) => void): Promise<AgentRecord> {
    return this.ctx.store.update((state) => {
      const agent = state.agents.find((a) => a.name === name);
      if (!agent) throw new UserError(`${name} was deleted while this call ran.`);
      patch(agent);
      return structuredClone(agent);
    });
  }
}
