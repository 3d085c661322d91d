import { createHash, randomBytes } from 'node:crypto';
import type { MessageKind, MessageRecord, Recipient } from '../store/message-types.js';
import type { AgentRecord, SessionRecord, State } from '../store/types.js';
import type { AgentLifecycle } from './agents.js';
import type { Services } from './context.js';
import { checkMessage, deliver } from './delivery.js';
import { UserError } from './errors.js';
import { newDeliveryId } from './ids.js';
import { needsScreen } from './observer.js';
import { RateLimiter } from './rate-limit.js';
import { summary, type InboxMessage, type MessageSummary } from './message-summary.js';
import { agentAndSession, agentOf, sessionOf } from './roster.js';

export type { InboxMessage, MessageSummary } from './message-summary.js';

/** Every stored message together (text of messages not yet expired): the state must stay small enough to save often. */
export const MAX_STORED_BYTES = 8 * 1024 * 1024;
export const DEFAULT_MESSAGE_TTL_S = 3 * 3600;
/** A delivery claimed this long ago and never finished belonged to a process that died while typing. */
const STALE_DELIVERY_MS = 120_000;
/** How often agents with queued messages are looked at (their hook spool: a local file); only while there are some. */
const PUMP_MS = 200;
/** How often the pump has the observer look at an agent whose hooks leave doubt. */
const SCAN_MS = 2000;
/**
 * How often the whole state is scanned (messages queued by another process, expiry) besides
 * when the state file changes.
 */
const SAFETY_SCAN_MS = 10_000;
/** How long a queued delivery waits for an empty input box before it waits for the next turn's end. */
const QUEUED_IDLE_WAIT_S = 3;

export interface Sender {
  /** An agent name, or "supervisor". */
  from: string;
  sessionId: string;
}

export interface SendInput {
  to: string;
  message: string;
  kind?: MessageKind;
  reply_to?: string;
}

export type Delivered = 'now' | 'queued';

export interface SendResult {
  message_id: string;
  delivered: Delivered;
  recipients: { agent: string; delivered: Delivered }[];
}

const newMessageId = (): string => {
  const alphabet = '0123456789abcdefghijklmnopqrstuvwxyz';
  return `m-${[...randomBytes(10)].map((b) => alphabet[b % 36]).join('')}`;
};

/**
 * A line of the body that looks like tabcrew's header is quoted: the header on the first line
 * is the only one that names a verified sender.
 */
export function quoteHeaders(text: string): string {
  return text.replace(/^(\s*)\[ADDER\+/gmu, '$1> [ADDER+');
}

/**
 * Messages between agents: stored in the (encrypted) state until they expire, pushed into an
 * idle recipient's prompt through the delivery transaction, or queued until its turn ends
 * (its Stop hook), and typed exactly once — or, if the recipient takes it with
 * check_messages first, not typed at all. The audit log gets length and hash, never text.
 */
export class MessageCenter {
  private readonly limiter: RateLimiter;
  /** Agents with queued messages, as last seen; the pump looks only at these between scans. */
  private readonly pending = new Set<string>();
  /** Agents whose queue is being flushed by this process. */
  private readonly flushing = new Set<string>();
  private started = false;
  /** The 200 ms pump: armed only while some agent has queued messages. */
  private pump?: NodeJS.Timeout;
  private safety?: NodeJS.Timeout;
  private soon?: NodeJS.Timeout;
  private unwatch?: () => void;
  /** When the pump last had the observer look at an agent whose hooks leave doubt. */
  private readonly looked = new Map<string, number>();
  private unlisten?: () => void;
  constructor(
    private readonly ctx: Pick<Services, 'audit' | 'backend' | 'config' | 'log' | 'observer' | 'store' | 'limits'>,
    /** Types a message under the recipient's lock; starts a hibernated recipient again (its message is typed once it is idle). */
    private readonly agents: Pick<AgentLifecycle, 'withLock' | 'wakeAgent'>,
    private readonly ttlS = DEFAULT_MESSAGE_TTL_S,
  ) {
    this.limiter = new RateLimiter(ctx.config.rateLimitBurst, ctx.config.rateLimitPerMinute);
  }

  /** Starts pushing queued messages (only `serve` does: one-shot CLI commands leave them queued). */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.unlisten = this.ctx.observer.onChange((c) => {
      if (c.to === 'idle' && this.pending.has(c.agent)) void this.flush(c.agent);
    });
    // Another process's message lands in the state file: scanned as it changes, and now and then.
    this.unwatch = this.ctx.store.watch(() => (this.soon ??= setTimeout(() => ((this.soon = undefined), void this.rescan()), 50).unref()));
    this.safety = setInterval(() => void this.rescan(), SAFETY_SCAN_MS).unref();
    void this.rescan();
  }

  stop(): void {
    this.started = false;
    clearInterval(this.pump);
    clearInterval(this.safety);
    clearTimeout(this.soon);
    this.pump = this.safety = this.soon = undefined;
    this.unwatch?.();
    this.unlisten?.();
  }

  async send(sender: Sender, input: SendInput): Promise<SendResult> {
    checkMessage(input.message);
    const kind = input.kind ?? 'note';
    const now = Date.now();
    const text = input.message;
    const sha256 = createHash('sha256').update(text, 'utf8').digest('hex');
    const bytes = Buffer.byteLength(text, 'utf8');
    const state0 = await this.ctx.store.read();
    resolveRecipients(state0, sender, input.to);
    this.limiter.take(sender.from === 'supervisor' ? 'supervisor' : sender.from, 'send_message');
    let record: MessageRecord;
    try {
      record = await this.ctx.store.update((state) => {
        this.expire(state, now);
        const to = resolveRecipients(state, sender, input.to);
        if (input.reply_to && !(state.messages ?? []).some((m) => m.id === input.reply_to && m.sessionId === sender.sessionId)) {
          throw new UserError(`reply_to ${input.reply_to} names no message of your session (it may have expired); send without reply_to.`);
        }
        const stored = (state.messages ?? []).reduce((n, m) => n + m.bytes, 0);
        if (stored + bytes > MAX_STORED_BYTES) {
          throw new UserError(
            `tabcrew already holds ${Math.round(stored / 1024)} KB of messages (limit ${MAX_STORED_BYTES / 1024 / 1024} MB until they expire); put the material in a file under the session root and send its path.`,
          );
        }
        const at = new Date(now).toISOString();
        const m: MessageRecord = {
          id: newMessageId(),
          sessionId: sender.sessionId,
          from: sender.from,
          ...(input.to === 'all' ? { broadcast: true } : {}),
          kind,
          ...(input.reply_to ? { replyTo: input.reply_to } : {}),
          text,
          bytes,
          sha256,
          createdAt: at,
          expiresAt: new Date(now + this.ttlS * 1000).toISOString(),
          recipients: to.map((a) => ({ agent: a.name, state: 'queued', at })),
        };
        (state.messages ??= []).push(m);
        return structuredClone(m);
      });
    } catch (e) {
      this.limiter.refund(sender.from);
      throw e;
    }
    // Typing starts before the bookkeeping below: a message to an idle agent is on its way at once.
    const state = await this.ctx.store.read();
    const recipients: { agent: string; delivered: Delivered }[] = [];
    for (const r of record.recipients) {
      const idle = !this.flushing.has(r.agent) && (await this.hooks(state, r.agent)) === 'idle';
      recipients.push({ agent: r.agent, delivered: idle ? 'now' : 'queued' });
      this.pending.add(r.agent);
      if (this.started) void this.flush(r.agent);
    }
    this.arm();
    await this.ctx.audit?.append({
      type: 'message',
      action: 'sent',
      message_id: record.id,
      session: record.sessionId,
      from: record.from,
      to: record.recipients.map((r) => r.agent),
      kind,
      length: bytes,
      sha256,
    });
    this.ctx.log.info('message stored', { message: record.id, from: record.from, to: record.recipients.map((r) => r.agent), bytes });
    return { message_id: record.id, delivered: recipients.every((r) => r.delivered === 'now') ? 'now' : 'queued', recipients };
  }

  /** The agent's messages not typed into its prompt yet, marked read in the same locked update. */
  async check(agent: string): Promise<{ messages: InboxMessage[] }> {
    const now = Date.now();
    const taken = await this.ctx.store.update((state) => {
      this.expire(state, now);
      const out: InboxMessage[] = [];
      for (const m of state.messages ?? []) {
        const r = m.recipients.find((x) => x.agent === agent && x.state === 'queued');
        if (!r) continue;
        r.state = 'read';
        r.at = new Date(now).toISOString();
        out.push({ message_id: m.id, from: m.from, kind: m.kind, ...(m.replyTo ? { reply_to: m.replyTo } : {}), sent_at: m.createdAt, text: m.text });
      }
      return out;
    });
    for (const m of taken) await this.ctx.audit?.append({ type: 'message', action: 'read', message_id: m.message_id, agent, from: m.from });
    return { messages: taken };
  }

  /** Messages of a session, without their text. */
  async list(input: { session: SessionRecord; agent?: string; since?: string }): Promise<{ messages: MessageSummary[] }> {
    const since = input.since === undefined ? undefined : Date.parse(input.since);
    if (since !== undefined && Number.isNaN(since)) throw new UserError(`since "${input.since}" is not a time: give an ISO time such as 2026-12-02T08:00:00Z.`);
    const state = await this.ctx.store.read();
    const now = Date.now();
    const messages = (state.messages ?? [])
      .filter((m) => m.sessionId === input.session.id && Date.parse(m.expiresAt) > now)
      .filter((m) => input.agent === undefined || m.from === input.agent || m.recipients.some((r) => r.agent === input.agent))
      .filter((m) => since === undefined || Date.parse(m.createdAt) >= since)
      .map(summary);
    return { messages };
  }

  /** One message with its text: only `tabcrew messages show` asks for it. */
  async show(id: string): Promise<MessageSummary & { text: string }> {
    const m = (await this.ctx.store.read()).messages?.find((x) => x.id === id && Date.parse(x.expiresAt) > Date.now());
    if (!m) throw new UserError(`no message ${id} (it may have expired); list them with tabcrew messages.`);
    return { ...summary(m), text: m.text };
  }

  // ---- push delivery ------------------------------------------------------------------

  private async rescan(): Promise<void> {
    try {
      await this.scan();
    } catch (e) {
      this.ctx.log.warn('message pump', { error: (e as Error).message });
    }
    this.arm();
  }

  /** Starts the pump when some agent has queued messages (it stops itself once none has). */
  private arm(): void {
    if (!this.started || this.pump || !this.pending.size) return;
    this.pump = setInterval(() => void this.tick(), PUMP_MS);
    this.pump.unref();
  }

  private async tick(): Promise<void> {
    try {
      if (!this.pending.size) {
        clearInterval(this.pump);
        this.pump = undefined;
        return;
      }
      const state = await this.ctx.store.read();
      for (const name of this.pending) {
        if (this.flushing.has(name)) continue;
        const agent = agentOf(state, name);
        const session = agent && sessionOf(state, agent);
        if (!agent || !session) {
          this.pending.delete(name);
          continue;
        }
        // The hook spool alone (a local file): the terminal is read only once the hooks say idle,
        // or when they have said busy for long (an Esc interrupt fires no hook: the observer's
        // screen check then finds the idle box, and its change event flushes).
        if (!agent.claudeSessionId) continue;
        const hooks = await this.ctx.observer.hookStatus(agent, session);
        if (hooks?.status === 'idle') void this.flush(name);
        else if (needsScreen(hooks, Date.now()) && Date.now() - (this.looked.get(name) ?? 0) >= SCAN_MS) {
          this.looked.set(name, Date.now());
          if ((await this.ctx.observer.observeOne(name)).status === 'idle') void this.flush(name);
        }
      }
    } catch (e) {
      this.ctx.log.warn('message pump', { error: (e as Error).message });
    }
  }

  /** Expires old messages, settles deliveries a dead process left half done, and finds queued ones. */
  private async scan(): Promise<void> {
    // Every save of the state wakes this scan: the messages copied, not the crew's whole state.
    const messages = await this.ctx.store.peek((state) => structuredClone(state.messages ?? []));
    const now = Date.now();
    const stale = (r: Recipient): boolean => r.state === 'delivering' && now - Date.parse(r.at) > STALE_DELIVERY_MS && !this.flushing.has(r.agent);
    if (messages.some((m) => Date.parse(m.expiresAt) <= now || m.recipients.some(stale))) {
      const settled = await this.ctx.store.update((s) => {
        const out: { id: string; agent: string; outcome: string }[] = [];
        for (const m of s.messages ?? []) {
          for (const r of m.recipients.filter(stale)) {
            // It may have been typed before the crash: never typed again (as send_message_to_agent's "unknown").
            r.state = 'delivered';
            r.outcome = 'unknown';
            r.at = new Date(now).toISOString();
            out.push({ id: m.id, agent: r.agent, outcome: 'unknown' });
          }
        }
        this.expire(s, now);
        return out;
      });
      for (const x of settled) await this.ctx.audit?.append({ type: 'message', action: 'delivered', message_id: x.id, agent: x.agent, outcome: x.outcome });
    }
    for (const m of messages) for (const r of m.recipients) if (r.state === 'queued' && Date.parse(m.expiresAt) > now) this.pending.add(r.agent);
  }

  /** Types the agent's oldest queued message if it is idle; the next one waits for that turn's end. */
  async flush(name: string): Promise<void> {
    if (this.flushing.has(name)) return;
    this.flushing.add(name);
    try {
      await this.agents.withLock(name, () => this.flushLocked(name));
    } catch (e) {
      this.ctx.log.warn('message delivery failed', { agent: name, error: (e as Error).message });
    } finally {
      this.flushing.delete(name);
    }
  }

  private async flushLocked(name: string): Promise<void> {
    const state = await this.ctx.store.read();
    const now = Date.now();
    const agent = agentOf(state, name);
    const session = agent && sessionOf(state, agent);
    const next = nextQueued(state, name, now);
    if (!next) {
      this.pending.delete(name);
      return;
    }
    if (!agent || !session) return;
    // Paused by a budget or timeout: it takes no messages; they wait, queued, for resume_agent (or expire).
    if (agent.hold) return;
    if (agent.hibernated) {
      // Asleep on purpose: the message wakes it, with its conversation; the idle it reaches then flushes the queue.
      void this.agents.wakeAgent(name).catch((e: Error) => this.ctx.log.warn('could not wake an agent for its message', { agent: name, error: e.message }));
      return;
    }
    const watch = this.ctx.observer.watch(agent, session);
    if (!watch) return;
    if ((await this.hooks(state, name)) !== 'idle' && (await this.ctx.observer.observeOne(name)).status !== 'idle') return;
    if (this.ctx.limits?.blockedUntil(state, name) !== undefined) return; // the account is at a usage limit: mail waits for the reset
    const deliveryId = newDeliveryId();
    const claimed = await this.ctx.store.update((s) => {
      const r = s.messages?.find((m) => m.id === next.id)?.recipients.find((x) => x.agent === name);
      if (r?.state !== 'queued') return false;
      r.state = 'delivering';
      r.at = new Date().toISOString();
      r.deliveryId = deliveryId;
      return true;
    });
    if (!claimed) return;
    let outcome: string | undefined;
    try {
      const result = await deliver(this.ctx, {
        agent: name,
        sessionName: session.name,
        watch,
        message: quoteHeaders(next.text),
        prependProtocol: true,
        header: { from: next.from, kind: next.kind, messageId: next.id },
        deliveryId,
        waitForReply: false,
        timeoutS: 1,
        idleWaitS: QUEUED_IDLE_WAIT_S,
      });
      outcome = result.delivered;
    } catch (e) {
      // Refused before anything was typed (the agent became busy, a dialog opened): queued again.
      if (!(e instanceof UserError)) throw e;
    }
    await this.ctx.store.update((s) => {
      const r = s.messages?.find((m) => m.id === next.id)?.recipients.find((x) => x.agent === name);
      if (r?.state !== 'delivering' || r.deliveryId !== deliveryId) return;
      r.at = new Date().toISOString();
      if (outcome) {
        r.state = 'delivered';
        r.outcome = outcome;
      } else {
        r.state = 'queued';
        delete r.deliveryId;
      }
    });
    if (outcome) {
      await this.ctx.audit?.append({
        type: 'message',
        action: 'delivered',
        message_id: next.id,
        agent: name,
        from: next.from,
        outcome,
        delivery_id: deliveryId,
      });
      this.ctx.log.info('message delivered', { message: next.id, agent: name, delivery: deliveryId, outcome });
    }
  }

  /** The agent's status by its hooks alone (its spool is a local file: no terminal round trip). */
  private async hooks(state: State, name: string): Promise<string | undefined> {
    const found = agentAndSession(state, name);
    return found && (await this.ctx.observer.hookStatus(found.agent, found.session))?.status;
  }

  /** Drops messages past their TTL; a recipient that never got one is on record as expired. */
  private expire(state: State, now: number): void {
    const keep: MessageRecord[] = [];
    for (const m of state.messages ?? []) {
      if (Date.parse(m.expiresAt) > now) keep.push(m);
      else {
        const missed = m.recipients.filter((r) => r.state === 'queued').map((r) => r.agent);
        if (missed.length) this.ctx.log.info('message expired undelivered', { message: m.id, agents: missed });
        void this.ctx.audit?.append({ type: 'message', action: 'expired', message_id: m.id, session: m.sessionId, undelivered: missed });
      }
    }
    if (state.messages && keep.length !== state.messages.length) state.messages = keep;
  }
}

function nextQueued(state: State, agent: string, now: number): MessageRecord | undefined {
  return (state.messages ?? []).find((m) => Date.parse(m.expiresAt) > now && m.recipients.some((r) => r.agent === agent && r.state === 'queued'));
}

/** The agents a message goes to: one of the sender's session, or all of it but the sender. */
function resolveRecipients(state: State, sender: Sender, to: string): AgentRecord[] {
  const session = sessionOf(state, sender);
  if (!session) throw new UserError(`session ${sender.sessionId} no longer exists; nothing was sent.`);
  const peers = state.agents.filter((a) => a.sessionId === session.id && a.name !== sender.from);
  if (to === 'all') {
    if (!peers.length) throw new UserError(`no other agent in session "${session.name}"; nothing was sent.`);
    return peers;
  }
  if (to === sender.from) throw new UserError('that is you: send the message to another agent, or "all".');
  const agent = peers.find((a) => a.name === to);
  if (!agent) {
    const known = peers.map((a) => a.name).join(', ') || 'none';
    throw new UserError(`no agent "${to}" in your session "${session.name}" (agents: ${known}); messages stay within a session. Nothing was sent.`);
  }
  return [agent];
}
