import type { RuntimeWatch } from './runtime-watch.js';

const LINGER_MS = 5_000;

/**
 * Waits for an agent's hook spool to change, as the OS reports it (runtime-watch.ts), with a
 * time limit: a delivery or a run step waiting for a turn's end looks again the moment a hook
 * writes, not at its next 100 ms poll. The runtime folder is watched only while someone
 * waits; where watching fails, each wait simply lasts its time limit, as the poll did.
 */
export class SpoolChanges {
  private readonly waiting = new Map<string, Set<() => void>>();
  private unsubscribe?: () => void;
  private linger?: NodeJS.Timeout;

  constructor(private readonly activity?: Pick<RuntimeWatch, 'on'>) {}

  /** Resolves when the spool of conversation `claudeSessionId` changes, or after `ms`. */
  wait(claudeSessionId: string, ms: number): Promise<void> {
    if (!this.activity) return new Promise((r) => setTimeout(r, ms));
    return new Promise((resolve) => {
      let waiters = this.waiting.get(claudeSessionId);
      if (!waiters) this.waiting.set(claudeSessionId, (waiters = new Set()));
      const done = (): void => {
        clearTimeout(timer);
        waiters.delete(done);
        if (!waiters.size) this.waiting.delete(claudeSessionId);
        if (!this.waiting.size) this.stopSoon();
        resolve();
      };
      const timer = setTimeout(done, ms);
      waiters.add(done);
      clearTimeout(this.linger);
      this.unsubscribe ??= this.activity!.on((a) => {
        if (a.what !== 'spool') return;
        for (const wake of [...(this.waiting.get(a.claudeSessionId) ?? [])]) wake();
      });
    });
  }

  /** Steps of a run and messages one after another wait often: the watch is let go only after a quiet while. */
  private stopSoon(): void {
    clearTimeout(this.linger);
    this.linger = setTimeout(() => {
      this.unsubscribe?.();
      this.unsubscribe = undefined;
    }, LINGER_MS);
    this.linger.unref();
  }
}
