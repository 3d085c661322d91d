export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Serialises work per key (an agent name): two deliveries never type into one tab at once. */
export class KeyedMutex {
  private tails = new Map<string, Promise<unknown>>();
  private started = 0;
  private lastStarted = new Map<string, number>();

  /**
   * Changes whenever a run() of `key` is asked for. Equal stamps taken at two moments, with
   * the key free at the second, mean nothing held the key in between.
   */
  stamp(key: string): number | undefined {
    return this.lastStarted.get(key);
  }

  /** Whether nothing holds or waits for `key`: a run() asked for now goes first. */
  isFree(key: string): boolean {
    return !this.tails.has(key);
  }

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    this.lastStarted.set(key, ++this.started);
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(work, work);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await next;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

/** Calls `report` at most once per `everyMs`, so a long wait sends a steady trickle. */
export function throttle<A extends unknown[]>(report: (...a: A) => void, everyMs: number): (...a: A) => void {
  let last = 0;
  return (...a: A) => {
    const now = Date.now();
    if (now - last >= everyMs) {
      last = now;
      report(...a);
    }
  };
}
