import type { RunRecord, RunStep } from '../store/runs.js';
import type { State } from '../store/types.js';
import { callerAgent, type Caller } from './children.js';
import type { Progress, Services } from './context.js';
import { checkRunInput, findRun, spawnForRun, type CoordinateInput } from './coordination-input.js';
import { consensusAnswerPrompt, consensusVotePrompt, parallelPrompt, sequentialPrompt } from './coordination-text.js';
import { endRun, runProgress, runSummary, runView, type RunSummary, type RunView } from './coordination-view.js';
import type { AgentLifecycle } from './agents.js';
import { newDeliveryId } from './ids.js';
import type { Notices } from './notices.js';
import { heartbeat } from './owner.js';
import { addRun, applyChanges, newRunRecord, patchRunStep, runIn, settleRunStep, StepMarks, unsent, savedOutcomes, type StepOutcome } from './run-records.js';
import { agentAndSession, findSession } from './roster.js';
import { collectReply, type ReplyDeps } from './step-reply.js';
import { auditEnd, auditOutcomes } from './coordination-audit.js';
import { escapeBusyTurn } from './turns.js';

export type { CoordinateInput } from './coordination-input.js';

/** Finished runs kept in the state (running ones are always kept). */
const KEEP_FINISHED_RUNS = 50;
/** How long a step's "working" mark, or a parallel run's reply, may wait to be saved with the run's next save (run-records.ts StepMarks). */
const MARKS_SAVE_MS = 1_000;

/**
 * coordinate_agents runs: one task to many agents (parallel), a pipeline (sequential), or
 * answers and a vote (consensus). A run is a record in the state, updated as each message
 * is typed and each reply collected; replies are read from the agents' hook spools and
 * transcripts (by delivery id and prompt fingerprint), which outlive tabcrew, so a run
 * whose tabcrew stopped is finished by the next one (`resume`).
 */
export class Coordinator {
  private readonly live = new Map<string, { done: Promise<void>; abort: AbortController }>();
  /** Steps' changes saved late: "working" marks, and a parallel run's replies (saved with its end). */
  private readonly marks: StepMarks;
  private readonly replyDeps: ReplyDeps;
  private heartbeat?: NodeJS.Timeout;
  /** Set when this tabcrew stops: runs are handed on (left running, unowned), not ended. */
  private suspending = false;

  constructor(
    private readonly ctx: Pick<Services, 'audit' | 'backend' | 'log' | 'observer' | 'owner' | 'store' | 'limits'>,
    /** Types each step's message, starts the agents a run spawns and removes them after. */
    private readonly agents: Pick<AgentLifecycle, 'sendMessage' | 'spawnAgent' | 'deleteAgent' | 'lockStamp'>,
    /** Told when a run ends (a person may be waiting for it: alerts, the dashboard). */
    private readonly notices?: Pick<Notices, 'tell'>,
  ) {
    this.replyDeps = { store: ctx.store, observer: ctx.observer, limits: ctx.limits, patchStep: (id, i, patch) => this.patchStep(id, i, patch) };
    this.marks = new StepMarks(
      ctx.store,
      MARKS_SAVE_MS,
      (run, e) => ctx.log.warn('coordination step changes not saved', { run, error: e.message }),
      (run, saved) => void auditOutcomes(this.ctx.audit, run, saved)?.catch(() => undefined),
    );
  }

  async start(input: CoordinateInput, caller: Caller = {}, progress?: Progress): Promise<RunView> {
    const state = await this.ctx.store.read();
    const { session, listed, timeoutS } = checkRunInput(state, input, caller);
    const spawned = await spawnForRun(this.agents, session.id, input.spawn, caller);
    const agents = [...listed, ...spawned];
    const record = newRunRecord(input, { sessionId: session.id, agents, spawned, timeoutS, caller: caller.agent, owner: this.ctx.owner.stamp() });
    await this.ctx.store.update((s) => addRun(s, record, KEEP_FINISHED_RUNS));
    // Appended now (before any record of the run's steps), awaited once the typing is under way.
    const audited = this.ctx.audit?.append({
      type: 'coordination',
      action: 'start',
      run: record.id,
      session: session.id,
      mode: record.mode,
      agents,
      spawned,
      outcome: 'ok',
    });
    this.ctx.log.info('coordination started', { run: record.id, mode: record.mode, agents });
    const fresh = record.mode === 'parallel' ? new Set(agents.keys()) : undefined;
    const done = this.launch(record.id, progress, fresh);
    await audited;
    if (input.wait !== false) await done;
    return this.get(record.id);
  }

  async get(runId: string, caller: Caller = {}): Promise<RunView> {
    const state = await this.ctx.store.read();
    const run = this.withMarks(findRun(state, runId, caller));
    return runView(run, state, Date.now());
  }

  async list(session?: string, caller: Caller = {}): Promise<RunSummary[]> {
    const state = await this.ctx.store.read();
    let only = session === undefined ? undefined : findSession(state, session).id;
    const me = callerAgent(state, caller, only);
    if (me) only = me.sessionId;
    return (state.runs ?? [])
      .filter((r) => only === undefined || r.sessionId === only)
      .reverse()
      .map((r) => runSummary(runView(this.withMarks(r), state, Date.now())));
  }

  /**
   * Stops waiting for a run. Agents keep working unless `interrupt`: then an agent whose
   * screen shows a running turn (and nothing else: never a dialog, where a key would answer
   * it) gets one Escape, which interrupts Claude Code's turn.
   */
  async cancel(runId: string, opts: { interrupt?: boolean } = {}, caller: Caller = {}): Promise<RunView & { interrupted?: string[] }> {
    const run = this.withMarks(findRun(await this.ctx.store.read(), runId, caller));
    if (run.state !== 'running') return { ...(await this.get(runId)), summary: `${run.summary ?? ''} (already ended; nothing to cancel)`.trim() };
    const working = run.steps.filter((s) => s.status === 'working' || s.status === 'sending').map((s) => s.agent);
    await this.ctx.store.update((s) => {
      const r = s.runs?.find((x) => x.id === runId);
      if (r) r.cancelled = true;
    });
    await this.ctx.audit?.append({ type: 'coordination', action: 'cancel', run: runId, session: run.sessionId, interrupt: !!opts.interrupt, outcome: 'ok' });
    const live = this.live.get(runId);
    live?.abort.abort();
    const interrupted: string[] = [];
    if (opts.interrupt) for (const agent of working) if (await this.interrupt(agent)) interrupted.push(agent);
    if (live) await live.done;
    else if (!this.ctx.owner.isLive(run.owner) || this.ctx.owner.isMine(run.owner)) await this.finish(runId, true);
    return { ...(await this.get(runId)), ...(opts.interrupt ? { interrupted } : {}) };
  }

  /** Takes over the runs whose tabcrew is gone (after a restart) and goes on collecting. */
  async resume(): Promise<string[]> {
    const owner = this.ctx.owner;
    const claimed = await this.ctx.store.update((s) => {
      const ids: string[] = [];
      for (const r of s.runs ?? []) {
        if (r.state !== 'running' || this.live.has(r.id) || owner.isLive(r.owner)) continue;
        r.owner = owner.stamp();
        ids.push(r.id);
      }
      return ids;
    });
    for (const id of claimed) {
      await this.ctx.audit?.append({ type: 'coordination', action: 'resume', run: id, outcome: 'ok' });
      this.ctx.log.info('coordination resumed', { run: id });
      void this.launch(id);
    }
    return claimed;
  }

  /**
   * This tabcrew is stopping: stop collecting, leave each run running without an owner, so
   * the next tabcrew on this state takes it over at once. Waits a few seconds at most for a
   * message being typed; a step left "sending" is checked by the next one in the hook spool.
   */
  async suspend(): Promise<void> {
    this.suspending = true;
    for (const l of this.live.values()) l.abort.abort();
    // Cleared once settled: the timer would otherwise hold the exiting process for 5 s.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.settled(), new Promise<void>((r) => (timer = setTimeout(r, 5_000)))]);
    clearTimeout(timer);
  }

  /** Resolves when every run this process drives has ended (tests, shutdown). */
  async settled(): Promise<void> {
    await Promise.all([...this.live.values()].map((l) => l.done));
  }

  // ---- driving a run ------------------------------------------------------------------

  /**
   * Drives the run; resolves when it ended. `fresh`: steps this process saved as "sending" and
   * has not typed yet (start). The run's agents are looked at once after it ended (lookAtAgents)
   * before the run lets go (settled).
   */
  private launch(id: string, progress?: Progress, fresh?: ReadonlySet<number>): Promise<void> {
    const abort = new AbortController();
    const ended = this.drive(id, abort.signal, progress, fresh).catch((e: Error) => {
      this.ctx.log.error('coordination failed', { run: id, error: e.message, stack: e.stack });
    });
    const done = ended
      .then(() => this.lookAtAgents(id))
      .finally(() => {
        this.live.delete(id);
        if (!this.live.size && this.heartbeat) {
          clearInterval(this.heartbeat);
          this.heartbeat = undefined;
        }
      });
    this.live.set(id, { done, abort });
    this.heartbeat ??= heartbeat(this.ctx.store, this.ctx.owner, (s) => (s.runs ?? []).filter((r) => this.live.has(r.id)));
    this.heartbeat.unref?.();
    return ended;
  }

  /**
   * One look at the agents the run typed to, after it ended, so the state and the audit log
   * show their turns (idle → busy → idle) with one tab listing, one save and one audit write
   * for all of them. The run's deliveries do not look after each confirmation: in a fan-out
   * those looks came while the agents' hooks ran, and the next run's typing found the rest.
   */
  private async lookAtAgents(id: string): Promise<void> {
    if (this.suspending) return;
    try {
      const found = await this.ctx.store.peek((s) => {
        const run = s.runs?.find((r) => r.id === id);
        const session = run && s.sessions.find((x) => x.id === run.sessionId);
        const typed = new Set(run?.steps.filter((x) => x.deliveryId).map((x) => x.agent));
        return session && structuredClone({ session, agents: s.agents.filter((a) => typed.has(a.name) && a.sessionId === session.id) });
      });
      if (found?.agents.length) await this.ctx.observer.observe(found.session, found.agents);
    } catch (e) {
      // Nothing is lost (a tabcrew closing meanwhile): the next look at them tells the statuses they went through.
      this.ctx.log.debug('coordination: agents not looked at after the run', { run: id, error: (e as Error).message });
    }
  }

  private async drive(id: string, signal: AbortSignal, progress?: Progress, fresh?: ReadonlySet<number>): Promise<void> {
    try {
      // The agents' lock stamps before the read: a parallel step's message uses the read when no verb took its agent since.
      const names = await this.ctx.store.peek((s) => runIn(s, id).steps.map((x) => x.agent));
      const stamps = new Map(names.map((name) => [name, this.agents.lockStamp(name)]));
      const state = await this.ctx.store.read();
      const run = runIn(state, id);
      const deadline = Date.parse(run.deadline);
      const report = this.reporter(id, progress);
      const ticker = progress ? setInterval(() => void report(), 5_000) : undefined;
      try {
        if (run.mode === 'parallel') {
          // The steps start from this one read: 64 copies of the whole state at once cost more than typing the messages.
          await Promise.all(
            run.steps.map((s, i) => this.step(id, i, (r) => parallelPrompt(r, r.steps[i]), deadline, signal, report, { state, stamps, fresh })),
          );
        } else if (run.mode === 'sequential') {
          await this.pipeline(id, deadline, signal, report);
        } else {
          await this.consensus(id, deadline, signal, report);
        }
      } finally {
        if (ticker) clearInterval(ticker);
      }
    } finally {
      await this.finish(id, signal.aborted);
    }
  }

  private async pipeline(id: string, deadline: number, signal: AbortSignal, report: () => Promise<void>): Promise<void> {
    const n = (await this.run(id)).steps.length;
    for (let i = 0; i < n; i++) {
      const before = await this.run(id);
      const prev = i > 0 ? before.steps[i - 1] : undefined;
      if (prev && prev.status !== 'done') return;
      await this.step(id, i, (r) => sequentialPrompt(r, i, prev ? { agent: prev.agent, reply: prev.reply ?? '' } : undefined), deadline, signal, report);
      if ((await this.run(id)).steps[i].status !== 'done') return;
    }
  }

  private async consensus(id: string, deadline: number, signal: AbortSignal, report: () => Promise<void>): Promise<void> {
    const first = await this.run(id);
    const round1 = first.steps.map((s, i) => ({ s, i })).filter((x) => x.s.round === 1);
    await Promise.all(round1.map(({ i }) => this.step(id, i, (r) => consensusAnswerPrompt(r), deadline, signal, report)));
    const after = await this.run(id);
    const answers = after.steps.filter((s) => s.round === 1 && s.status === 'done');
    if (answers.length < 2 || signal.aborted || after.cancelled) return;
    if (!after.steps.some((s) => s.round === 2)) {
      await this.ctx.store.update((s) => {
        const r = s.runs?.find((x) => x.id === id);
        if (r && !r.steps.some((x) => x.round === 2)) for (const a of answers) r.steps.push({ agent: a.agent, round: 2, status: 'pending' });
      });
    }
    const ballot = answers.map((a) => a.reply ?? '');
    const votes = (await this.run(id)).steps.map((s, i) => ({ s, i })).filter((x) => x.s.round === 2);
    await Promise.all(votes.map(({ i }) => this.step(id, i, (r) => consensusVotePrompt(r, ballot), deadline, signal, report)));
  }

  /** Types one step's message (unless it was typed before a restart) and collects the reply. */
  private async step(
    id: string,
    i: number,
    prompt: (r: RunRecord) => string,
    deadline: number,
    signal: AbortSignal,
    report: () => Promise<void>,
    /** The state as the caller read it a moment ago, after taking the agents' lock stamps; read here when not given. */
    read?: { state: State; stamps: ReadonlyMap<string, number | undefined | null>; fresh?: ReadonlySet<number> },
  ): Promise<void> {
    const state = read?.state ?? (await this.ctx.store.read());
    const run = runIn(state, id);
    const step = run.steps[i];
    if (step.status === 'done' || step.status === 'failed' || step.status === 'skipped') return;
    let typed: RunStep | undefined;
    // Saved "sending" by start and not typed yet: typed now with the delivery id on disk.
    const fresh = step.status === 'sending' && !!read?.fresh?.has(i);
    if (step.status === 'pending' || fresh) {
      if (signal.aborted || run.cancelled || Date.now() >= deadline) {
        if (fresh) await this.patchStep(id, i, unsent);
        return;
      }
      const deliveryId = fresh ? step.deliveryId! : newDeliveryId();
      const message = prompt(run);
      const sending = fresh
        ? step
        : await this.patchStep(id, i, (s) => {
            s.status = 'sending';
            s.deliveryId = deliveryId;
            s.sentAt = new Date().toISOString();
          });
      try {
        await this.ctx.limits?.waitUntilClear(step.agent, deadline, signal, state); // an account at its usage limit: the step waits for the reset
        const idleWaitS = Math.max(1, Math.min(300, Math.round((deadline - Date.now()) / 1000)));
        const shared = read?.stamps.has(step.agent) ? { state, stamp: read.stamps.get(step.agent) } : undefined;
        await this.agents.sendMessage(step.agent, { message, delivery_id: deliveryId, idle_wait_s: idleWaitS, status_after: false }, undefined, shared);
        // Saved with the run's next save: the reply is collected meanwhile (StepMarks says what a crash loses).
        typed = { ...sending, status: 'working' };
        this.marks.add(id, i);
      } catch (e) {
        await this.settle(id, i, run.mode, { status: 'failed', error: (e as Error).message });
        await report();
        return;
      }
      await report();
    }
    // A step typed just now is first looked for with the state it started from (collect reads
    // the state again a second later, and would see a clear or a delete then).
    const found = typed && agentAndSession(state, step.agent);
    const watch = found && this.ctx.observer.watch(found.agent, found.session);
    const outcome = await collectReply(this.replyDeps, id, i, deadline, signal, typed && watch ? { step: typed, watch } : undefined);
    if (outcome) {
      await this.settle(id, i, run.mode, outcome);
      await report();
    }
  }

  /**
   * A step's outcome. A parallel run's waits to be saved with the run's end (or within
   * MARKS_SAVE_MS): its replies come at the same moments, while the agents' Stop hooks run,
   * and the end then has one save to wait for, not the chain of one per reply. A pipeline's or
   * a consensus' step is saved at once: the next step reads it.
   */
  private async settle(id: string, i: number, mode: RunRecord['mode'], outcome: StepOutcome): Promise<void> {
    if (mode === 'parallel') {
      this.marks.settle(id, i, outcome);
      return;
    }
    const waiting = this.marks.take(id);
    const { step, sessionId } = await settleRunStep(this.ctx.store, id, i, outcome, waiting).catch((e: Error) => {
      this.marks.putBack(id, waiting);
      throw e;
    });
    await auditOutcomes(this.ctx.audit, id, { sessionId, steps: [step] });
  }

  private async finish(id: string, aborted: boolean): Promise<void> {
    const waiting = this.marks.take(id);
    if (this.suspending) {
      // Left running for the next tabcrew, with what this one collected.
      const saved = await this.ctx.store
        .update((s) => {
          const r = s.runs?.find((x) => x.id === id);
          if (!r) return undefined;
          applyChanges(r, waiting);
          if (this.ctx.owner.isMine(r.owner)) delete r.owner;
          return savedOutcomes(r, waiting);
        })
        .catch(() => undefined);
      if (saved) await auditOutcomes(this.ctx.audit, id, saved)?.catch(() => undefined);
      return;
    }
    const now = Date.now();
    // The run's end in the save of its waiting replies: one save, then one audit write for both.
    const { ended, saved } = await this.ctx.store.update((s) => {
      const r = s.runs?.find((x) => x.id === id);
      if (!r) return { ended: undefined, saved: undefined };
      applyChanges(r, waiting);
      const saved = savedOutcomes(r, waiting);
      if (r.state !== 'running') return { ended: undefined, saved };
      endRun(r, { cancelled: aborted || !!r.cancelled, now });
      delete r.owner;
      return { ended: structuredClone(r), saved };
    });
    await Promise.all([saved && auditOutcomes(this.ctx.audit, id, saved), ended && auditEnd(this.ctx.audit, ended)]);
    if (!ended) return;
    this.ctx.log.info('coordination ended', { run: id, state: ended.state });
    this.notices?.tell({
      agent: ended.caller ?? 'crew',
      session_id: ended.sessionId,
      reason: 'coordination_finished',
      episode: id,
      message: `Coordination run ${id} (${ended.mode}, ${ended.steps.length} steps) ended ${ended.state}${ended.summary ? `: ${ended.summary}` : ''}.`,
      action: `get_coordination {run_id: "${id}"} shows every reply.`,
    });
    if (ended.removeSpawned) {
      for (const agent of ended.spawned)
        await this.agents
          .deleteAgent(agent, { cascade: true })
          .catch((e: Error) => this.ctx.log.warn('spawned agent not removed', { agent, error: e.message }));
    }
  }

  // ---- helpers ------------------------------------------------------------------------

  private reporter(id: string, progress?: Progress): () => Promise<void> {
    return async () => {
      if (!progress) return;
      const run = await this.run(id).catch(() => undefined);
      if (!run) return;
      progress(runProgress(run));
    };
  }

  private async run(id: string): Promise<RunRecord> {
    return this.withMarks(runIn(await this.ctx.store.read(), id));
  }

  /** A run read from the state (a copy), with the changes of its steps this process has not saved yet. */
  private withMarks(run: RunRecord): RunRecord {
    const waiting = this.marks.peek(run.id);
    return waiting ? applyChanges(run, waiting) : run;
  }

  private async patchStep(id: string, i: number, patch: (s: RunStep) => void): Promise<RunStep> {
    return (await patchRunStep(this.ctx.store, id, i, patch)).step;
  }

  private async interrupt(agent: string): Promise<boolean> {
    const { tab } = await this.ctx.observer.observeOne(agent).catch(() => ({ tab: undefined }));
    return !!tab && (await escapeBusyTurn(this.ctx.backend, tab).catch(() => false));
  }
}
