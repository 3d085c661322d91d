import type { Logger } from '../audit/logger.js';
import type { Alert, AlertSink } from './alert.js';
import { webhookRequest, type NotifyFormat } from './formats.js';
import { originOf, withoutUrls } from './targets.js';

export interface Backoff {
  firstMs: number;
  maxMs: number;
  /** Attempts in all, the first included. */
  attempts: number;
}

export const DEFAULT_BACKOFF: Backoff = { firstMs: 2000, maxMs: 60_000, attempts: 5 };
/** Each POST gives up after this; the crew never waits on it. */
export const ATTEMPT_TIMEOUT_MS = 10_000;
/** Alerts waiting per URL; past it the oldest is dropped (a receiver down for hours must not grow the queue). */
export const QUEUE_MAX = 100;

/**
 * The wait before attempt `attempt + 1`: doubling from firstMs, at most maxMs, or the
 * receiver's Retry-After (also at most maxMs); half of it is random (jitter), so many
 * tabcrews do not retry in step.
 */
export function retryDelay(attempt: number, b: Backoff, retryAfterS?: number, random: () => number = Math.random): number {
  const base = retryAfterS !== undefined && Number.isFinite(retryAfterS) && retryAfterS >= 0 ? retryAfterS * 1000 : b.firstMs * 2 ** (attempt - 1);
  const capped = Math.min(b.maxMs, base);
  return Math.round(capped / 2 + (capped / 2) * random());
}

export interface WebhookDeps {
  urls: string[];
  format: NotifyFormat;
  log: Logger;
  fetch?: typeof fetch;
  backoff?: Backoff;
  timeoutMs?: number;
  queueMax?: number;
  random?: () => number;
}

type Outcome = { ok: true } | { ok: false; retry: boolean; why: string; retryAfterS?: number };

/**
 * `--notify-url`: each alert POSTed to every URL. send() only queues: one worker per URL
 * posts in order, each POST bounded by a timeout, failures retried with bounded backoff
 * (network errors, 408, 429, 5xx; any other answer is final), so a slow or dead receiver
 * holds up neither the crew nor the other URLs. Logs name a URL by its origin only.
 */
export class WebhookSink implements AlertSink {
  private readonly queues: { url: string; items: Alert[]; running?: Promise<void> }[];
  private readonly stopping = new AbortController();
  private closed = false;

  constructor(private readonly deps: WebhookDeps) {
    this.queues = deps.urls.map((url) => ({ url, items: [] }));
  }

  send(alert: Alert): void {
    if (this.closed) return;
    const max = this.deps.queueMax ?? QUEUE_MAX;
    for (const q of this.queues) {
      q.items.push(alert);
      if (q.items.length > max) {
        const dropped = q.items.shift()!;
        this.deps.log.warn('alert dropped: too many waiting for this receiver', { to: originOf(q.url), event: dropped.event, agent: dropped.agent });
      }
      q.running ??= this.drain(q).finally(() => (q.running = undefined));
    }
  }

  /** Waits up to `graceMs` for queued alerts to go out, then gives the rest up. */
  async close(graceMs = 3000): Promise<void> {
    this.closed = true;
    const all = Promise.all(this.queues.map((q) => q.running));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    this.stopping.abort();
    await all;
  }

  private async drain(q: { url: string; items: Alert[] }): Promise<void> {
    while (q.items.length && !this.stopping.signal.aborted) await this.deliver(q.url, q.items.shift()!);
    if (q.items.length) this.deps.log.warn('alerts not sent: tabcrew stopped', { to: originOf(q.url), count: q.items.length });
    q.items.length = 0;
  }

  private async deliver(url: string, alert: Alert): Promise<void> {
    const b = this.deps.backoff ?? DEFAULT_BACKOFF;
    const to = originOf(url);
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.post(url, alert);
      if (outcome.ok) {
        this.deps.log.info('alert sent', { to, event: alert.event, agent: alert.agent, attempt });
        return;
      }
      if (!outcome.retry || attempt >= b.attempts || this.stopping.signal.aborted) {
        this.deps.log.warn('alert not sent', { to, event: alert.event, agent: alert.agent, attempts: attempt, error: outcome.why });
        return;
      }
      const wait = retryDelay(attempt, b, outcome.retryAfterS, this.deps.random);
      this.deps.log.info('alert will be retried', { to, event: alert.event, agent: alert.agent, attempt, in_ms: wait, error: outcome.why });
      await sleep(wait, this.stopping.signal);
    }
  }

  private async post(url: string, alert: Alert): Promise<Outcome> {
    const req = webhookRequest(alert, this.deps.format, url);
    const signal = AbortSignal.any([AbortSignal.timeout(this.deps.timeoutMs ?? ATTEMPT_TIMEOUT_MS), this.stopping.signal]);
    try {
      // A redirect is answered, not followed: a POST must not be carried off to another place.
      const res = await (this.deps.fetch ?? fetch)(req.url, { method: 'POST', headers: req.headers, body: req.body, signal, redirect: 'manual' });
      await res.body?.cancel().catch(() => undefined);
      if (res.ok) return { ok: true };
      const retry = res.status === 408 || res.status === 429 || res.status >= 500;
      const after = Number(res.headers.get('retry-after'));
      return { ok: false, retry, why: `answered ${res.status}`, ...(res.headers.has('retry-after') && Number.isFinite(after) ? { retryAfterS: after } : {}) };
    } catch (e) {
      const err = e as Error & { cause?: Error };
      const why =
        err.name === 'TimeoutError'
          ? `no answer within ${(this.deps.timeoutMs ?? ATTEMPT_TIMEOUT_MS) / 1000} s`
          : `${err.message}${err.cause ? `: ${err.cause.message}` : ''}`;
      return { ok: false, retry: true, why: withoutUrls(why, this.deps.urls) };
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms).unref();
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
