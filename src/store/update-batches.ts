import type { State } from './types.js';

interface BatchEntry {
  change: (state: State) => unknown;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
}

/**
 * StateStore.updateBatched's batches: changes asked for while none of them has started are
 * run under one lock and saved once. `enqueue` puts a batch's run in the store's queue of
 * updates; `apply` runs changes under the lock and saves what they leave.
 */
export class UpdateBatches {
  private open?: BatchEntry[];

  constructor(
    private readonly enqueue: (run: () => Promise<void>) => void,
    private readonly apply: <T>(change: (state: State) => T) => Promise<T>,
  ) {}

  add<T>(change: (state: State) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry = { change: change as (state: State) => unknown, resolve: resolve as (v: unknown) => void, reject };
      if (this.open) {
        this.open.push(entry);
        return;
      }
      const batch = [entry];
      this.open = batch;
      this.enqueue(() => this.run(batch));
    });
  }

  /** Changes asked for from now on go into a later batch (an unbatched update was queued meanwhile). */
  close(): void {
    this.open = undefined;
  }

  private async run(batch: BatchEntry[]): Promise<void> {
    // Closed once it runs: a later call waits for the next batch.
    if (this.open === batch) this.open = undefined;
    let results: unknown[];
    try {
      results = await this.apply((state) => batch.map((e) => e.change(state)));
    } catch (e) {
      if (batch.length === 1) return batch[0]!.reject(e);
      // One change refused (or the save failed): each again on its own, in order.
      for (const entry of batch) await this.apply(entry.change).then(entry.resolve, entry.reject);
      return;
    }
    batch.forEach((entry, i) => entry.resolve(results[i]));
  }
}
