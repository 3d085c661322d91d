/**
 * Work in rounds: an item added while none runs starts a round of its own at once; items added
 * while a round runs wait for it and go together in the next one, in the order they came.
 */
export class Rounds<T> {
  private waiting: T[] = [];
  private busy = false;

  constructor(private readonly serve: (round: T[]) => Promise<void>) {}

  add(item: T): void {
    this.waiting.push(item);
    if (!this.busy) void this.drain();
  }

  private async drain(): Promise<void> {
    this.busy = true;
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
