import { existsSync } from 'node:fs';
import { removeAgentDir } from '../claude/launch.js';
import { launchChoiceProblem } from '../claude/launch-options.js';
import { effectivePermissions, type RoleCatalogue } from '../claude/roles.js';
import type { AgentRecord, AgentStatus, SessionRecord } from '../store/types.js';
import type { TabInfo } from '../terminals/backend.js';
import { newAgentSecret } from './agent-identity.js';
import { applyResume, limitsOf, type Budgets } from './budgets.js';
import { callerAgent, checkChildLimits, descendantsOf, type Caller } from './children.js';
import type { Progress, Services } from './context.js';
import { checkMessage, deliver, type DeliveryResult } from './delivery.js';
import { LimitError, UserError } from './errors.js';
import { newClaudeSessionId } from './ids.js';
import { checkClaude, launchOwned, stopAgentProcess, stopAndForget } from './lifecycle.js';
import { checkSandbox, READ_ONLY_UNBOXED, sandboxSetup } from './sandbox-choice.js';
import { findTab } from './observer.js';
import { permissionModeFor, type PolicyOptions } from './policy.js';
import { RateLimiter } from './rate-limit.js';
import type { ResumeOutcome } from './recovery.js';
import { agentOf, findSession, otherRootsOf, peersOf, setStatus, type Roster } from './roster.js';
import type { TabSeat } from './tab-gate.js';
import { KeyedMutex } from './timing.js';
import { deliveryOf, type CreateAgentInput, type MessageInput, type SharedRead } from './agent-input.js';
import { addWorktree, checkGitRoot, checkRemovable, removeWorktree, worktreeStatus } from './worktrees.js';

export type { CreateAgentInput } from './agent-input.js';
export type AgentServices = Pick<Services, 'config' | 'store' | 'backend' | 'log' | 'env' | 'observer' | 'owner' | 'audit' | 'starts' | 'limits'>;

export interface AgentLifecycleDeps {
  ctx: AgentServices;
  roster: Roster;
  /** Refuses a message to an agent paused or past a limit. */
  budgets: Pick<Budgets, 'admit'>;
  roles: RoleCatalogue;
  policy: PolicyOptions;
}

/**
 * Every verb that starts, stops, resumes or types into an agent: create, delete, clear,
 * start anew, send (admission and rate limit), wake, hibernate, relaunch, resume, spawn, and
 * the launch with its owner heartbeat. Each holds the agent's lock (owned here) while it
 * works, so two verbs never act on one agent at once.
 */
export class AgentLifecycle {
  private readonly ctx: AgentServices;
  private readonly roster: Roster;
  private readonly budgets: Pick<Budgets, 'admit'>;
  private readonly roles: RoleCatalogue;
  private readonly policy: PolicyOptions;
  /** send_message_to_agent's rate limit, per agent. */
  private readonly messages: RateLimiter;
  /** The per-agent lock: one verb or delivery at a time per agent. */
  private readonly lock = new KeyedMutex();

  constructor(deps: AgentLifecycleDeps) {
    ({ ctx: this.ctx, roster: this.roster, budgets: this.budgets, roles: this.roles, policy: this.policy } = deps);
    this.messages = new RateLimiter(deps.ctx.config.rateLimitBurst, deps.ctx.config.rateLimitPerMinute);
  }

  /** Runs `work` under the agent's lock: nothing else starts, stops or types into the agent meanwhile (mail's delivery, recovery). */
  withLock<T>(name: string, work: () => Promise<T>): Promise<T> {
    return this.lock.run(name, work);
  }

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
    checkClaude(this.ctx);
    checkSandbox(this.ctx.config, this.ctx.env, input.sandbox_extra_paths);
    await this.ctx.limits?.refuse('create');
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
          ...(role && !role.custom && role.permissions ? { rolePermissions: effectivePermissions(role.permissions) } : {}),
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
      return { agent, session, peers: peersOf(state, agent) };
    });
    this.ctx.log.info('agent reserved', { agent: agent.name, session: session.id });
    return this.lock.run(agent.name, async () => {
      let launched;
      let tree: Awaited<ReturnType<typeof addWorktree>> | undefined;
      try {
        if (isolated) {
          tree = await addWorktree(session.root, agent.name);
          agent.worktree = { path: tree.path, branch: tree.branch, base: tree.base };
          await this.roster.patch(agent.name, (a) => (a.worktree = agent.worktree));
        }
        launched = await launchOwned(this.ctx, agent, session, peers, { resume: false, progress, policy: this.policy });
      } catch (e) {
        // Nothing runs under this name: forget it (the number stays used, names are never reused).
        await this.ctx.store.update((state) => {
          state.agents = state.agents.filter((a) => a.name !== agent.name);
        });
        if (tree) await removeWorktree(session.root, tree, { force: true, deleteBranch: !tree.reused_branch }).catch(() => undefined);
        throw e;
      }
      let note = launched.note;
      if (agent.launch.rolePermissions?.read_only && !sandboxSetup(this.ctx.config, this.ctx.env)) note = [note, READ_ONLY_UNBOXED].filter(Boolean).join(' ');
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
    const deleted = await this.lock.run(name, async () => {
      const { agent, session } = await this.roster.find(name);
      const tree = agent.worktree;
      // Refused before anything stops: uncommitted work in the agent's worktree is never thrown away unasked.
      const keepTree = tree && opts.keepDirtyWorktree && !opts.force && (await worktreeStatus(tree)).dirty_files;
      if (tree && !keepTree) await checkRemovable(name, tree, !!opts.force);
      const transcriptPath = await stopAndForget(this.ctx, agent, session);
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
    return this.lock.run(name, async () => {
      const { agent, session } = await this.roster.find(name);
      const transcriptPath = await stopAndForget(this.ctx, agent, session);
      await this.roster.patch(name, (a) => {
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
    checkClaude(this.ctx);
    return this.lock.run(name, async () => {
      const { agent, session } = await this.roster.find(name);
      if (agent.claudeSessionId) await stopAndForget(this.ctx, agent, session);
      const fresh = await this.roster.patch(name, (a) => {
        if (a.claudeSessionId) a.pastClaudeSessionIds.push(a.claudeSessionId);
        a.claudeSessionId = newClaudeSessionId();
        a.tab = null;
        setStatus(a, { status: 'starting', source: 'supervisor' });
      });
      const launched = await launchOwned(this.ctx, fresh, session, peersOf(await this.ctx.store.read(), fresh), {
        resume: false,
        progress,
        policy: this.policy,
      });
      let note = launched.note;
      if (agent.launch.rolePermissions?.read_only && !sandboxSetup(this.ctx.config, this.ctx.env)) note = [note, READ_ONLY_UNBOXED].filter(Boolean).join(' ');
      let status = launched.status;
      if (initialTask !== undefined && status === 'idle') {
        const sent = await this.sendMessageLocked(name, { message: initialTask }, progress);
        status = sent.status;
        if (sent.delivered !== 'confirmed') note = sent.note;
      }
      return { agent: name, claude_session_id: fresh.claudeSessionId!, status, ...(note ? { note } : {}) };
    });
  }

  /** The agent's lock stamp, for a state read after it (sendMessage's `read`); null while the lock is held. */
  lockStamp(name: string): number | undefined | null {
    return this.lock.isFree(name) ? this.lock.stamp(name) : null;
  }

  async sendMessage(name: string, input: MessageInput, progress?: Progress, read?: SharedRead): Promise<DeliveryResult> {
    checkMessage(input.message);
    // The caller's read while no verb took the agent's lock since (a hibernation, a clear): else one read here.
    const shared = read && read.stamp !== null && this.lock.stamp(name) === read.stamp ? read : undefined;
    const stamp = shared ? shared.stamp : this.lock.stamp(name);
    // One read for the admission checks: a fan-out sends to 64 agents at once, and each read is a copy of the whole state.
    const { agent, session, state } = shared ? this.roster.lookup(shared.state, name) : await this.roster.find(name);
    await this.budgets.admit(name, state);
    await this.ctx.limits?.refuse('send', name, state);
    this.messages.take(name, 'send_message_to_agent');
    try {
      // Delivery waits for a hibernated agent to wake, with its conversation.
      if (agent.hibernated) await this.wakeAgent(name, progress);
      // When no verb took the agent's lock since the read, and none holds or waits for it now,
      // nothing that changes an agent under its lock came between: the records just read serve
      // under the lock as well as a second read (one copy of the whole state fewer per message).
      const unchanged = stamp !== null && this.lock.isFree(name) && this.lock.stamp(name) === stamp ? { agent, session } : undefined;
      return await this.lock.run(name, () => this.sendMessageLocked(name, input, progress, unchanged));
    } catch (e) {
      // Refused or timed out before anything was typed: the agent received nothing.
      if (e instanceof UserError) this.messages.refund(name);
      throw e;
    }
  }

  /** Wakes a hibernated agent: its Claude Code is started again with --resume, in a new tab. */
  async wakeAgent(name: string, progress?: Progress): Promise<{ agent: string; status: AgentStatus; claude_session_id: string | null; woke: boolean }> {
    return this.lock.run(name, async () => {
      const { agent, session } = await this.roster.find(name);
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
      await this.roster.patch(name, (a) => delete a.hibernated);
      await this.ctx.audit?.append({ type: 'hibernation', action: 'wake', agent: name, session: session.id, claude_session_id: agent.claudeSessionId });
      return { agent: name, status: (await this.ctx.observer.observeOne(name)).status, claude_session_id: agent.claudeSessionId, woke: true };
    });
  }

  /** Lifts the budget or timeout hold of a paused agent: its limit raised to `raiseTo`, or lifted. */
  async resumeAgent(name: string, raiseTo?: number): Promise<{ agent: string; status: AgentStatus; limit: string; raised_to: number | null }> {
    await this.roster.find(name);
    const { limit, now } = await this.ctx.store.update((state) => {
      const a = agentOf(state, name)!;
      return applyResume(state, a, raiseTo);
    });
    await this.ctx.audit?.append({ type: 'budget', action: 'resume', agent: name, limit, raised_to: now });
    const live = await this.ctx.observer.observeOne(name);
    return { agent: name, status: live.status, limit, raised_to: now };
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
  ): Promise<Awaited<ReturnType<AgentLifecycle['createAgent']>> & { parent?: string }> {
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

  // ---- the keeper's and recovery's verbs --------------------------------------------

  /** Stops the Claude Code of an agent idle for --hibernate-after; its conversation stays for the next wake. */
  async hibernateAgent(name: string): Promise<boolean> {
    return this.lock.run(name, async () => {
      const { agent, session } = await this.roster.find(name);
      // Marked before the process stops, so its exit is never taken for a crash.
      if ((await this.ctx.observer.observeOne(name)).status !== 'idle' || agent.hold || agent.hibernated) return false;
      await this.roster.patch(name, (a) => (a.hibernated = { at: new Date().toISOString() }));
      await stopAgentProcess(this.ctx, agent, session);
      await this.roster.patch(name, (a) => (a.tab = null));
      await this.ctx.audit?.append({ type: 'hibernation', action: 'sleep', agent: name, session: session.id, claude_session_id: agent.claudeSessionId });
      await this.ctx.observer.observeOne(name);
      return true;
    });
  }

  /** Resumes, in a new tab, an agent whose Claude Code exited by itself (the keeper decides when). */
  async relaunchAgent(name: string): Promise<{ ok: true } | { ok: false; reason: string }> {
    return this.lock.run(name, async () => {
      const { agent, session } = await this.roster.find(name);
      const dead = findTab(agent, await this.ctx.backend.listTabs());
      const outcome = await this.resume(agent, session, dead);
      if ('reason' in outcome) return { ok: false, reason: outcome.reason };
      if ('skipped' in outcome) return { ok: false, reason: outcome.skipped };
      return { ok: true };
    });
  }

  /** Claims and launches an agent again with --resume (recovery, a wake, a relaunch); the caller holds its lock. seat: recovery's tab gate. */
  async resume(planned: AgentRecord, session: SessionRecord, deadTab: TabInfo | undefined, progress?: Progress, seat?: TabSeat): Promise<ResumeOutcome> {
    // Claimed under the lock: of two tabcrews recovering at once, one launches the agent.
    // Batched: the agents resumed together are claimed in one save.
    const owner = this.ctx.owner;
    // The launch's secret is recorded with the claim: one save before the tab, not two.
    const { secret, sha256 } = newAgentSecret();
    const claim = await this.ctx.store.updateBatched((state) => {
      const a = agentOf(state, planned.name);
      // Launched meanwhile (a create_agent of this process held the agent's lock): nothing to resume.
      if (!a || a.claudeSessionId !== planned.claudeSessionId || a.launchId !== planned.launchId) return 'changed' as const;
      if (!owner.isMine(a.owner) && owner.isLive(a.owner)) return 'taken' as const;
      a.owner = owner.stamp();
      a.secretSha256 = sha256;
      setStatus(a, { status: 'detached', source: 'terminal' });
      // What the launch needs of the crew, from the state the claim holds: sixteen agents resumed at once read no state each.
      return { agent: structuredClone(a), peers: peersOf(state, a), otherRoots: otherRootsOf(state, session.id) };
    });
    if (claim === 'changed') return { agent: planned.name, reason: 'it changed while recovery ran (deleted or restarted); nothing done' };
    if (claim === 'taken') return { agent: planned.name, skipped: 'another tabcrew process is launching it right now' };
    const { agent, peers, otherRoots } = claim;
    if (deadTab) await this.ctx.backend.closeTab(deadTab).catch(() => undefined);
    const watch = this.ctx.observer.watch(agent, session)!;
    await watch.refresh();
    // Claude Code writes a transcript only once the conversation has a first message; a
    // conversation without one has nothing to resume and starts again under the same id.
    const resumable = existsSync(watch.transcriptPath());
    try {
      const launched = await launchOwned(this.ctx, agent, session, peers, {
        resume: resumable,
        progress,
        policy: this.policy,
        staggered: false,
        otherRoots,
        secret,
        seat,
      });
      return { agent: agent.name, claude_session_id: agent.claudeSessionId!, status: launched.status, action: resumable ? 'resumed' : 'restarted' };
    } catch (e) {
      await this.roster
        .patch(agent.name, (a) => {
          setStatus(a, { status: 'detached', source: 'terminal' });
          delete a.owner;
        })
        .catch(() => undefined);
      return { agent: agent.name, reason: (e as Error).message };
    }
  }

  // ---- internals --------------------------------------------------------------------

  private async sendMessageLocked(
    name: string,
    input: MessageInput,
    progress?: Progress,
    /** The agent's records when the caller read them with the lock free (so still current). */
    unchanged?: { agent: AgentRecord; session: SessionRecord },
  ): Promise<DeliveryResult> {
    const { agent, session } = unchanged ?? (await this.roster.find(name));
    const watch = this.ctx.observer.watch(agent, session);
    if (!watch) {
      throw new UserError(`${name} has no running conversation (${agent.status}); nothing was typed. Call start_new_agent_conversation first.`);
    }
    return deliver(this.ctx, deliveryOf(input, { agent, session, watch }, progress));
  }
}
