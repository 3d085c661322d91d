export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Serialises work per key (an agent name): two deliveries never type into one tab at once. */
export class KeyedMutex {
  private tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
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
