import type { AuditLog } from '../../audit/audit-log.js';
import type { Logger } from '../../audit/logger.js';
import type { StateStore } from '../../store/state-store.js';
import type { AgentRecord, SessionRecord } from '../../store/types.js';
import { UserError } from '../errors.js';
import { Owner } from '../owner.js';
import { findSession } from '../roster.js';
import { sharedRootChanges, worktreeChanges, type AgentChanges, type ChangesOptions } from './changes.js';
import { checkPath } from './git-diff.js';
import { runMergeCheck } from './merge-check.js';
import { MergeQueue, type MergeEntry, type Settled } from './merge-queue.js';
import { verifyInterrupted } from './merge-recovery.js';
import { MergeRefused, mergeAgent, type MergeInput, type MergeOutcome } from './merge.js';
import { OverlapWatch, type NewOverlap, type Overlap } from './overlaps.js';
import type { RuntimeWatch } from '../runtime-watch.js';

/*
 * The review wing's one owner: what each agent changed, and the merge queue that brings a
 * worktree agent's branch into the session's base branch (docs/review-and-merge.md).
 */

export interface ReviewDeps {
  store: Pick<StateStore, 'read' | 'update'>;
  /** This process, as the merge queue's records name it (another one marks them interrupted only when it is gone). */
  owner?: Owner;
  /** Where agents' hook spools are (attribution of an agent without a worktree). */
  runtimeDir: string;
  log: Logger;
  audit?: Pick<AuditLog, 'append'>;
  /** Sends an agent of the session a tabcrew message. */
  tell: (sessionId: string, agent: string, text: string) => Promise<void>;
  /** `serve --merge-check "CMD"`. */
  mergeCheck?: { command: string; timeoutMs: number };
  /** The environment the merge check's small one is taken from. */
  env: NodeJS.ProcessEnv;
  /** `--tell-agents-on-overlap` (default on): each agent of a new overlap gets one message naming the file and the other agent. */
  tellOnOverlap?: boolean;
  /** Hook activity (fs.watch on the runtime folder): the overlap poll looks only after an agent did something. */
  activity?: Pick<RuntimeWatch, 'on'>;
}

/** How often `serve` looks for new overlaps in every session. */
const OVERLAP_POLL_MS = 10_000;
/** With `activity`: a look at least this often even when no hook reported anything. */
const OVERLAP_SAFETY_MS = 60_000;

export const MAX_PATCH_BYTES = 4 * 1024 * 1024;

export class ReviewDesk {
  private readonly queue: MergeQueue;
  private readonly overlapWatch: OverlapWatch;
  private readonly overlapListeners = new Set<(o: NewOverlap) => void>();
  private timer?: NodeJS.Timeout;
  private polling = false;
  /** Whether an agent's hooks reported anything since the last poll (every change an agent makes goes through a tool and its hook). */
  private moved = true;
  private lastPoll = 0;
  private unwatch?: () => void;

  constructor(private readonly deps: ReviewDeps) {
    this.overlapWatch = new OverlapWatch(deps.runtimeDir, (o) => void this.announce(o));
    this.queue = new MergeQueue({
      store: deps.store,
      owner: deps.owner ?? new Owner(),
      verify: async (record) => {
        const session = (await deps.store.read()).sessions.find((s) => s.id === record.session_id);
        if (!session) return { reason: 'tabcrew stopped while this merge was under way, and its session no longer exists.' };
        const checked = await verifyInterrupted(session.root, record);
        await deps.audit?.append({
          type: 'merge',
          action: 'interrupted',
          agent: record.agent,
          session: record.session_id,
          merge_id: record.merge_id,
          reason: checked.reason,
        });
        return checked;
      },
    });
  }

  /** New overlaps (MCP log message tabcrew.overlap); returns the unsubscribe. */
  onOverlap(listener: (o: NewOverlap) => void): () => void {
    this.overlapListeners.add(listener);
    return () => this.overlapListeners.delete(listener);
  }

  /** Looks for new overlaps in every session now and then (only `serve` does). */
  start(everyMs = OVERLAP_POLL_MS): void {
    if (this.timer) return;
    // Merges a stopped tabcrew left queued or running are checked and shown as interrupted.
    void this.queue.recover().catch((e: Error) => this.deps.log.warn('interrupted merges not checked', { error: e.message }));
    this.timer = setInterval(() => void this.poll(), everyMs);
    this.timer.unref();
    this.unwatch = this.deps.activity?.on((a) => void (a.what === 'spool' && (this.moved = true)));
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.unwatch?.();
    this.unwatch = undefined;
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    if (this.deps.activity && !this.moved && Date.now() - this.lastPoll < OVERLAP_SAFETY_MS) return;
    this.moved = false;
    this.lastPoll = Date.now();
    this.polling = true;
    try {
      const state = await this.deps.store.read();
      for (const session of state.sessions) {
        await this.overlapWatch.overlaps(
          session,
          state.agents.filter((a) => a.sessionId === session.id),
          { shared: false },
        );
      }
    } catch (e) {
      this.deps.log.warn('overlap poll failed', { error: (e as Error).message });
    } finally {
      this.polling = false;
    }
  }

  private async announce(o: NewOverlap): Promise<void> {
    for (const l of this.overlapListeners) l(o);
    await this.deps.audit?.append({ type: 'overlap', session: o.session_id, path: o.path, agents: o.agents });
    if (this.deps.tellOnOverlap === false) return;
    const [a, b] = o.agents;
    for (const [to, other] of [
      [a, b],
      [b, a],
    ]) {
      const text = `${other} has also changed ${o.path}. Before you go on with it, agree with ${other} (send_message) who changes what there, so your work merges without conflicts.`;
      await this.deps.tell(o.session_id, to, text).catch((e: Error) => this.deps.log.warn('overlap message not sent', { agent: to, error: e.message }));
    }
  }

  /** Paths two or more agents of the session have changed (get_session_status). */
  async overlaps(session: SessionRecord, agents: AgentRecord[]): Promise<Overlap[]> {
    return this.overlapWatch.overlaps(session, agents);
  }

  private async find(name: string): Promise<{ agent: AgentRecord; session: SessionRecord; peers: AgentRecord[] }> {
    const state = await this.deps.store.read();
    const agent = state.agents.find((a) => a.name === name);
    if (!agent) {
      const known = state.agents.map((a) => a.name).join(', ') || 'none';
      throw new UserError(`no agent named "${name}" (agents: ${known}). Agent names look like Agent_1.`);
    }
    const session = state.sessions.find((s) => s.id === agent.sessionId);
    if (!session) throw new UserError(`${name} belongs to session ${agent.sessionId}, which no longer exists.`);
    return { agent, session, peers: state.agents.filter((a) => a.sessionId === session.id && a.name !== name) };
  }

  async changes(name: string, opts: ChangesOptions = {}): Promise<AgentChanges> {
    const path = opts.path === undefined ? undefined : checkPath(opts.path);
    const maxBytes = Math.min(opts.max_bytes ?? 256 * 1024, MAX_PATCH_BYTES);
    const { agent, session } = await this.find(name);
    const o = { ...opts, path, max_bytes: maxBytes };
    return agent.worktree ? worktreeChanges(session, agent, o) : sharedRootChanges(session, agent, this.deps.runtimeDir, o);
  }

  /** Every agent's changes in a session (tabcrew changes without --agent). */
  async sessionChanges(
    sessionRef: string,
    opts: ChangesOptions = {},
  ): Promise<{ session_id: string; agents: (AgentChanges | { agent: string; error: string })[] }> {
    const state = await this.deps.store.read();
    const session = findSession(state, sessionRef);
    const agents = [];
    for (const a of state.agents.filter((x) => x.sessionId === session.id)) {
      agents.push(await this.changes(a.name, opts).catch((e: Error) => ({ agent: a.name, error: e.message })));
    }
    return { session_id: session.id, agents };
  }

  async merge(name: string, input: MergeInput): Promise<MergeOutcome & { merge_id: string }> {
    const { session } = await this.find(name);
    const audit = async (event: Record<string, unknown>) => void (await this.deps.audit?.append({ ...event, type: 'merge' }));
    await audit({ action: 'queued', agent: name, session: session.id, dry_run: input.dry_run === true });
    let id = '';
    const outcome = await this.queue
      .enqueue(
        session.id,
        name,
        { dry_run: input.dry_run },
        async (control) => {
          id = control.merge_id;
          // Read again at the head of the queue: an earlier merge may have moved the base.
          const fresh = await this.find(name);
          const check = this.deps.mergeCheck;
          return mergeAgent(fresh.session, fresh.agent, input, {
            peers: fresh.peers,
            audit,
            tell: (agent, text) => this.deps.tell(session.id, agent, text),
            moving: (move) => control.moving(move),
            ...(check ? { check: (root: string, commit: string) => runMergeCheck(root, commit, check.command, check.timeoutMs, this.deps.env) } : {}),
          });
        },
        settle,
      )
      .catch(async (e: Error) => {
        await audit({ action: e instanceof UserError ? 'refused' : 'failed', agent: name, session: session.id, reason: e.message });
        throw e;
      });
    this.deps.log.info('merge', { agent: name, session: session.id, merged: outcome.merged, commit: outcome.commit });
    return { merge_id: id, ...outcome };
  }

  async listMerges(sessionRef: string): Promise<{ session_id: string; merges: MergeEntry[] }> {
    const session = findSession(await this.deps.store.read(), sessionRef);
    return { session_id: session.id, merges: await this.queue.list(session.id) };
  }
}

/** What the merge queue records of a merge's end. */
function settle(r: { ok: MergeOutcome } | { error: Error }): Settled {
  if ('ok' in r) {
    return {
      base_branch: r.ok.base_branch,
      base_before: r.ok.base_before,
      ...(r.ok.commit ? { commit: r.ok.commit, base_after: r.ok.base_after } : {}),
    };
  }
  const out: Settled = { state: r.error instanceof UserError ? 'refused' : 'failed', reason: r.error.message.slice(0, 2000) };
  if (r.error instanceof MergeRefused) {
    if (r.error.detail.conflicts) out.conflicts = r.error.detail.conflicts;
    if (r.error.detail.base_before) out.base_before = r.error.detail.base_before;
  }
  return out;
}
