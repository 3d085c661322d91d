import { UserError } from './errors.js';

/**
 * A token bucket per key. The defaults (a burst of 6, then 12 a minute) leave room for a
 * supervisor handing out work and follow-ups, while stopping a runaway client loop from
 * flooding an agent whose every turn costs tokens.
 */
export class RateLimiter {
  private buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    readonly burst: number,
    readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one token for `key`, or refuses saying when to retry. */
  take(key: string, what: string): void {
    const t = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: t };
    b.tokens = Math.min(this.burst, b.tokens + ((t - b.at) / 60_000) * this.perMinute);
    b.at = t;
    if (b.tokens < 1) {
      this.buckets.set(key, b);
      const waitS = Math.ceil(((1 - b.tokens) / this.perMinute) * 60 * 10) / 10;
      throw new UserError(
        `${what} refused: more than ${this.perMinute} a minute (burst ${this.burst}) for ${key}. Retry in ${waitS} s, or raise --rate-limit-per-minute.`,
      );
    }
    b.tokens -= 1;
    this.buckets.set(key, b);
  }

  /** Gives back a token taken for something that did not happen (a refused delivery). */
  refund(key: string): void {
    const b = this.buckets.get(key);
    if (b) b.tokens = Math.min(this.burst, b.tokens + 1);
  }
}
