import { readFile } from 'node:fs/promises';
import { accountOf, limitHitIn, type Account, type LimitHit } from '../claude/usage-limit.js';
import type { Config } from '../config.js';
import type { AccountLimit, AgentRecord, LimitQueueItem, SessionRecord, State } from '../store/types.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Logger } from '../audit/logger.js';
import type { StateStore } from '../store/state-store.js';
import type { AgentObserver } from './observer.js';
import { LimitError, UserError } from './errors.js';
import { newDeliveryId } from './ids.js';
import type { Notices } from './notices.js';
import type { LiveStatus } from './observer.js';
import { lastOf } from '../util/last-of.js';
import { agentOf } from './roster.js';
import { sleep } from './timing.js';
import { endsTurn } from './turns.js';

/**
 * Usage limits, crew-wide (docs/usage-limits.md). A turn that ends on an API limit (Claude
 * Code's StopFailure `rate_limit`) pauses its agent until the limit resets: the exact reset
 * from the transcript for a subscription's usage limit, tabcrew's own backoff for a plain 429.
 * The account the agents share is then limited: no agent starts and no message is typed
 * until the reset (unless queued), and after it the paused agents are resumed a few at a time
 * (supervisor/limit-resume.ts). The account is a fingerprint of the credential, never the
 * credential. What happened is kept in the state, so a restarted tabcrew goes on.
 */

/** The longest tabcrew's own backoff grows to after 429s in a row. */
export const MAX_BACKOFF_MS = 60 * 60_000;
/** A 429 this soon after the account cleared counts as one more in a row. */
const STRIKE_MEMORY_MS = 15 * 60_000;
/** How long after a StopFailure `rate_limit` the keeper has paused the agent (a round or two). */
const PAUSE_WITHIN_MS = 30_000;
/** Resumes wait a little past the reset (spread between crews on one account). */
const JITTER_MS = { min: 1000, spread: 4000 };

export type LimitsDeps = {
  store: StateStore;
  log: Logger;
  audit?: Pick<AuditLog, 'append'>;
  env: NodeJS.ProcessEnv;
  observer: AgentObserver;
} & {
  config: Pick<Config, 'limitBackoffMs'>;
  notices: Pick<Notices, 'tell'>;
  random?: () => number;
};

export interface LimitView {
  account: string;
  /** ok: nothing limited; limited: until resumes_at; resuming: the reset passed and paused agents are being resumed. */
  state: 'ok' | 'limited' | 'resuming';
  kind?: AccountLimit['kind'];
  resumes_at?: string;
  agents_paused: string[];
  queued: number;
}

/** The reset time as a person reads it: the ISO time and how far off it is. */
export function describeReset(resumesAt: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((resumesAt - now) / 1000));
  const left = s >= 3600 ? `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min` : s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
  return `${new Date(resumesAt).toISOString()} (in ${left})`;
}

/** When an account with this episode resumes after one more limit hit (pure: unit-tested). */
export function nextResume(hit: LimitHit, episode: AccountLimit | undefined, backoffMs: number, now: number): { resumesAt: number; strikes: number } {
  if (hit.kind === 'usage_limit' && hit.resetsAt !== undefined) return { resumesAt: Math.max(hit.resetsAt, now), strikes: 0 };
  let strikes = 0;
  if (episode?.kind === 'rate_limit') {
    // Several agents refused in one episode are one strike; a refusal soon after it cleared is the next.
    if (episode.state !== 'clear') return { resumesAt: Date.parse(episode.resumesAt), strikes: episode.strikes };
    if (episode.clearedAt && now - Date.parse(episode.clearedAt) < STRIKE_MEMORY_MS) strikes = episode.strikes + 1;
  }
  return { resumesAt: now + Math.min(backoffMs * 2 ** strikes, MAX_BACKOFF_MS), strikes };
}

export class Limits {
  readonly account: Account;
  private readonly jitter = new Map<string, number>();

  constructor(private readonly deps: LimitsDeps) {
    this.account = accountOf(deps.env);
  }

  /** This account's episode, when it is not over. */
  episode(state: State): AccountLimit | undefined {
    return state.usageLimits?.find((l) => l.account === this.account.id && l.state !== 'clear');
  }

  /** Epoch ms until which the account is limited (no start, no message), or undefined. */
  limitedUntil(state: State, now = Date.now()): number | undefined {
    const e = this.episode(state);
    const at = e ? Date.parse(e.resumesAt) : undefined;
    return e?.state === 'limited' && at !== undefined && now < at ? at : undefined;
  }

  /** When the resume pass may run for this episode: the reset plus a little jitter. */
  dueAt(e: AccountLimit): number {
    return Date.parse(e.resumesAt) + this.jitterOf(e);
  }

  private jitterOf(e: AccountLimit): number {
    let j = this.jitter.get(e.since);
    if (j === undefined) {
      j = JITTER_MS.min + Math.floor((this.deps.random ?? Math.random)() * JITTER_MS.spread);
      this.jitter.set(e.since, j);
    }
    return j;
  }

  /**
   * Refuses a start or a message while the account is limited (or the agent is paused by a
   * limit), naming the reset time. `what` says what would have been done.
   */
  async refuse(what: 'create' | 'send', agent?: string, read?: State): Promise<void> {
    const state = read ?? (await this.deps.store.read());
    const until = this.blockedUntil(state, agent);
    if (until === undefined) return;
    const nothing = what === 'create' ? 'nothing was started' : 'nothing was typed';
    const who = agent && agentOf(state, agent)?.usageLimit?.paused ? `${agent} is paused by an API limit and the crew's account` : "The crew's account";
    throw new LimitError(
      `${who} (${this.account.id}) is at its usage limit until ${describeReset(until)}; ${nothing}. ` +
        `Call again after the reset, or pass queue: true and tabcrew ${what === 'create' ? 'starts the agent' : 'delivers the message'} then by itself.`,
    );
  }

  /** The reset a start or message to `agent` waits for, or undefined when it may go now. */
  blockedUntil(state: State, agent?: string, now = Date.now()): number | undefined {
    const limited = this.limitedUntil(state, now);
    if (limited !== undefined) return limited;
    const own = agent ? agentOf(state, agent)?.usageLimit : undefined;
    return own?.paused ? Date.parse(own.resumesAt) : undefined;
  }

  /** Waits (bounded by `deadline`, or until `signal` aborts) while a message to `agent` would be refused. */
  async waitUntilClear(agent: string, deadline: number, signal?: AbortSignal, read?: State): Promise<void> {
    // `read`: the state its caller read a moment ago, for the first look (a fan-out's 64 steps start together).
    for (let state = read; !signal?.aborted && Date.now() < deadline; state = undefined) {
      if (this.blockedUntil(state ?? (await this.deps.store.read()), agent) === undefined) return;
      await sleep(1000);
    }
  }

  /**
   * A turn of `agent` failed on an API limit at `failureTs` (its StopFailure): the delivery id
   * of the message that resumed it, '' while it waits for the reset, undefined when no pause
   * follows that failure (then the turn simply failed).
   */
  async resumeOf(agent: string, failureTs: number, now = Date.now()): Promise<string | undefined> {
    const u = agentOf(await this.deps.store.read(), agent)?.usageLimit;
    if (u && u.failureTs >= failureTs) return u.paused ? '' : u.resumeDelivery;
    return now - failureTs < PAUSE_WITHIN_MS ? '' : undefined;
  }

  /** Queues a message or a start for after the reset (queue: true); undefined when nothing is limited (go ahead now). */
  async enqueue(item: Omit<LimitQueueItem, 'id' | 'account' | 'at'>): Promise<{ queued: true; queue_id: string; resumes_at: string } | undefined> {
    const id = `q-${newDeliveryId().slice(2)}`;
    const until = await this.deps.store.update((state) => {
      if (item.agent && !agentOf(state, item.agent)) throw new UserError(`no agent named "${item.agent}"; nothing was queued.`);
      const at = this.blockedUntil(state, item.agent);
      if (at === undefined) return undefined;
      (state.limitQueue ??= []).push({ ...item, id, account: this.account.id, at: new Date().toISOString() });
      return at;
    });
    if (until === undefined) return undefined;
    this.deps.log.info('queued until the usage limit resets', { queue_id: id, kind: item.kind, agent: item.agent });
    await this.deps.audit?.append({ type: 'usage_limit', action: 'queue', queue_id: id, kind: item.kind, agent: item.agent, account: this.account.id });
    return { queued: true, queue_id: id, resumes_at: new Date(until).toISOString() };
  }

  /**
   * The keeper's look at one agent: an idle agent whose latest turn ended on StopFailure
   * `rate_limit` (not taken before) is paused, and its account limited.
   */
  async checkAgent(agent: AgentRecord, session: SessionRecord, live: LiveStatus, now = Date.now()): Promise<void> {
    if (agent.usageLimit?.paused || live.status !== 'idle') return;
    const watch = this.deps.observer.watch(agent, session);
    if (!watch) return;
    const end = lastOf(watch.spool.records, (r) => r.session_id === watch.claudeSessionId && endsTurn(r));
    if (end?.event !== 'StopFailure' || end.error !== 'rate_limit') return;
    if (agent.usageLimit && agent.usageLimit.failureTs >= end.ts) return;
    const transcript = await readFile(watch.transcriptPath(), 'utf8').catch(() => '');
    await this.pause(agent, session, limitHitIn(transcript) ?? { kind: 'rate_limit' }, end.ts, now);
  }

  private async pause(agent: AgentRecord, session: SessionRecord, hit: LimitHit, failureTs: number, now: number): Promise<void> {
    const account = this.account.id;
    const at = new Date(now).toISOString();
    const outcome = await this.deps.store.update((state) => {
      const a = agentOf(state, agent.name);
      if (!a || (a.usageLimit && a.usageLimit.failureTs >= failureTs)) return undefined;
      const limits = (state.usageLimits ??= []);
      const before = limits.find((l) => l.account === account);
      const { resumesAt, strikes } = nextResume(hit, before, this.deps.config.limitBackoffMs, now);
      const fresh = !before || before.state === 'clear';
      const resumes = new Date(fresh ? resumesAt : Math.max(resumesAt, Date.parse(before.resumesAt))).toISOString();
      const episode: AccountLimit = fresh
        ? { account, kind: hit.kind, state: 'limited', resumesAt: resumes, since: at, strikes }
        : { ...before, kind: hit.kind === 'usage_limit' ? hit.kind : before.kind, state: 'limited', resumesAt: resumes, strikes };
      state.usageLimits = [...limits.filter((l) => l.account !== account), episode];
      a.usageLimit = { account, kind: hit.kind, resumesAt: resumes, at, failureTs, paused: true };
      return { fresh, resumes };
    });
    if (!outcome) return;
    const what = hit.kind === 'usage_limit' ? `its usage limit${hit.limitType ? ` (${hit.limitType})` : ''}` : 'the API rate limit (429)';
    this.deps.log.warn('agent paused by an API limit', { agent: agent.name, account, kind: hit.kind, resumes_at: outcome.resumes });
    await this.deps.audit?.append({
      type: 'usage_limit',
      action: 'pause',
      agent: agent.name,
      session: session.id,
      account,
      kind: hit.kind,
      resumes_at: outcome.resumes,
    });
    if (!outcome.fresh) return;
    this.deps.notices.tell({
      agent: agent.name,
      session_id: session.id,
      reason: 'usage_limit',
      message: `The crew's account (${account}) hit ${what}: ${agent.name} is paused, and no agent starts or takes a message until ${describeReset(Date.parse(outcome.resumes), now)}.`,
      action:
        'Nothing to do: tabcrew resumes the paused agents after the reset, a few at a time. create_agent / send_message_to_agent with queue: true wait for it.',
    });
  }

  /** get_session_status's `limits`: this crew's account, with the agents it paused. */
  view(state: State): LimitView[] {
    const e = this.episode(state);
    const paused = state.agents.filter((a) => a.usageLimit?.paused && a.usageLimit.account === this.account.id).map((a) => a.name);
    const queued = (state.limitQueue ?? []).filter((q) => q.account === this.account.id).length;
    if (!e) return [{ account: this.account.id, state: 'ok', agents_paused: paused, queued }];
    return [{ account: this.account.id, state: e.state === 'clear' ? 'ok' : e.state, kind: e.kind, resumes_at: e.resumesAt, agents_paused: paused, queued }];
  }
}
