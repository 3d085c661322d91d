/**
 * Work in rounds: items added while none runs are gathered until the current turn of the
 * event loop is over (setImmediate) and go together as one round; items added while a round
 * runs wait for it and go together in the next one, in the order they came.
 *
 * The gathering is what makes a fan-out share round trips: its deliveries are woken together
 * (by one shared read, one save, one timer) and ask for their next read or keys within the
 * same turn. Started at once, the first of them went alone and the others waited for it, in
 * every phase of every delivery (one extra terminal process and round trip each). A lone
 * item waits only for the end of the current turn.
 */
export class Rounds<T> {
  private waiting: T[] = [];
  private busy = false;

  constructor(private readonly serve: (round: T[]) => Promise<void>) {}

  add(item: T): void {
    this.waiting.push(item);
    if (this.busy) return;
    this.busy = true;
    setImmediate(() => void this.drain());
  }

  private async drain(): Promise<void> {
    try {
      while (this.waiting.length) {
        const round = this.waiting;
        this.waiting = [];
        await this.serve(round);
      }
    } finally {
      this.busy = false;
    }
  }
}
