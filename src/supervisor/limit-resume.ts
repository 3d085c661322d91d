import type { AgentLifecycle, CreateAgentInput } from './agents.js';
import type { Services } from './context.js';
import { newDeliveryId } from './ids.js';
import type { Limits } from './limits.js';
import { agentOf } from './roster.js';
import { sleep } from './timing.js';

/** What a paused agent is told when nothing was queued for it. */
export const CONTINUE_MESSAGE = 'The API usage limit that stopped your last turn has reset. Continue your task where you left off.';
/** Between two resumes by one worker: a few agents at a time, not a burst. */
const BETWEEN_MS = 500;

export type LimitResumeDeps = Pick<Services, 'store' | 'log' | 'audit'> & {
  limits: Pick<Limits, 'episode' | 'dueAt' | 'limitedUntil' | 'account'>;
  /** Late-bound: the lifecycle is made after the limits it consults. */
  agents: () => Pick<AgentLifecycle, 'sendMessage' | 'createAgent'>;
  /** How many resumes run at once (--max-starting). */
  concurrency: number;
};

type Job = { label: string; run: () => Promise<void> };

/**
 * The resume pass after a reset (supervisor/limits.ts has the episode): once the reset (plus
 * jitter) has passed, each paused agent gets the message queued for it, or a short "continue";
 * then the other queued messages and the queued starts go out, a few at a time. A resumed
 * agent that runs into the limit again limits the account again, and the pass stops there.
 */
export class LimitResumer {
  private pass?: Promise<void>;

  constructor(private readonly deps: LimitResumeDeps) {}

  /** The keeper's round: starts a pass when one is due (never two at once); does not wait for it. */
  tick(now = Date.now()): void {
    this.pass ??= this.maybeResume(now)
      .catch((e: Error) => void this.deps.log.warn('usage-limit resume failed', { error: e.message }))
      .finally(() => (this.pass = undefined));
  }

  /** Resolves once a running pass is over. */
  async settled(): Promise<void> {
    await this.pass;
  }

  private async maybeResume(now: number): Promise<void> {
    const { store, limits } = this.deps;
    const e = limits.episode(await store.read());
    if (!e || now < limits.dueAt(e)) return;
    await store.update((s) => {
      const x = limits.episode(s);
      if (x?.since === e.since) x.state = 'resuming';
    });
    if (e.state === 'limited') await this.deps.audit?.append({ type: 'usage_limit', action: 'reset', account: e.account, kind: e.kind });
    await this.runAll(await this.plan());
    await store.update((s) => {
      const x = limits.episode(s);
      if (x?.state !== 'resuming') return;
      const id = limits.account.id;
      const left = s.agents.some((a) => a.usageLimit?.paused && a.usageLimit.account === id) || (s.limitQueue ?? []).some((q) => q.account === id);
      if (left) return; // the next round resumes what is left
      x.state = 'clear';
      x.clearedAt = new Date().toISOString();
    });
  }

  /** One job per paused agent (its first queued message or "continue"), then each other queued message and start, oldest first. */
  private async plan(): Promise<Job[]> {
    const s = await this.deps.store.read();
    const id = this.deps.limits.account.id;
    const paused = new Set(s.agents.filter((a) => a.usageLimit?.paused && a.usageLimit.account === id).map((a) => a.name));
    const jobs: Job[] = [...paused].map((name) => ({ label: name, run: () => this.resumeAgent(name) }));
    const resumeMessage = new Set<string>();
    for (const q of s.limitQueue ?? []) {
      if (q.account !== id) continue;
      if (q.kind === 'message' && paused.has(q.agent ?? '') && !resumeMessage.has(q.agent!)) {
        resumeMessage.add(q.agent!); // typed by resumeAgent
        continue;
      }
      jobs.push({ label: q.id, run: () => (q.kind === 'create' ? this.startQueued(q.id) : this.deliverQueued(q.id)) });
    }
    return jobs;
  }

  private async runAll(jobs: Job[]): Promise<void> {
    const work = async (): Promise<void> => {
      for (let job = jobs.shift(); job; job = jobs.shift()) {
        // A resumed agent ran into the limit again: the rest waits for the next reset.
        if (this.deps.limits.limitedUntil(await this.deps.store.read()) !== undefined) return;
        const { label, run } = job;
        await run().catch((e: Error) => void this.deps.log.warn('usage-limit resume step failed', { step: label, error: e.message }));
        await sleep(BETWEEN_MS);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, this.deps.concurrency) }, work));
  }

  /** Unpauses the agent and types its queued message, or "continue". */
  private async resumeAgent(name: string): Promise<void> {
    const deliveryId = newDeliveryId();
    const picked = await this.deps.store.update((s) => {
      const a = agentOf(s, name);
      if (!a?.usageLimit?.paused) return undefined;
      a.usageLimit.paused = false;
      a.usageLimit.resumeDelivery = deliveryId;
      const queue = s.limitQueue ?? [];
      const first = queue.find((q) => q.kind === 'message' && q.agent === name);
      if (first) s.limitQueue = queue.filter((q) => q !== first);
      return { message: first?.message ?? CONTINUE_MESSAGE, queueId: first?.id };
    });
    if (!picked) return;
    try {
      const r = await this.deps.agents().sendMessage(name, { message: picked.message, delivery_id: deliveryId, idle_wait_s: 120 });
      this.deps.log.info('agent resumed after the usage limit', { agent: name, delivered: r.delivered, queue_id: picked.queueId });
      await this.deps.audit?.append({
        type: 'usage_limit',
        action: 'resume',
        agent: name,
        delivery: deliveryId,
        ...(picked.queueId ? { queue_id: picked.queueId } : {}),
      });
    } catch (e) {
      // Left unpaused: a person sees it idle and its reason in the log; retrying blindly could type twice.
      await this.deps.audit?.append({ type: 'usage_limit', action: 'resume', agent: name, outcome: 'failed', error: (e as Error).message });
      throw e;
    }
  }

  private async take(id: string) {
    return this.deps.store.update((s) => {
      const q = (s.limitQueue ?? []).find((x) => x.id === id);
      if (q) s.limitQueue = s.limitQueue!.filter((x) => x !== q);
      return q;
    });
  }

  private async deliverQueued(id: string): Promise<void> {
    const q = await this.take(id);
    if (!q?.agent || q.message === undefined) return;
    const r = await this.deps.agents().sendMessage(q.agent, { message: q.message, idle_wait_s: 600 });
    await this.deps.audit?.append({ type: 'usage_limit', action: 'deliver_queued', queue_id: id, agent: q.agent, delivered: r.delivered });
  }

  private async startQueued(id: string): Promise<void> {
    const q = await this.take(id);
    if (!q?.input) return;
    const created = await this.deps.agents().createAgent(q.input as unknown as CreateAgentInput);
    await this.deps.audit?.append({ type: 'usage_limit', action: 'start_queued', queue_id: id, agent: created.agent, session: created.session_id });
  }
}
