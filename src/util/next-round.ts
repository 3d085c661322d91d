/**
 * One call at a time; callers that come while it runs share the one after it. Nobody gets an
 * answer from a call that started before they asked, so nothing reads older than it would
 * alone, and many callers at once cost two calls, not one each.
 */
export class NextRound<T> {
  private running?: Promise<T>;
  private next?: Promise<T>;

  constructor(private readonly call: () => Promise<T>) {}

  run(): Promise<T> {
    if (!this.running) return this.start();
    this.next ??= this.running
      .catch(() => undefined)
      .then(() => {
        this.next = undefined;
        return this.start();
      });
    return this.next;
  }

  private start(): Promise<T> {
    const p = this.call();
    this.running = p;
    const clear = (): void => {
      if (this.running === p) this.running = undefined;
    };
    p.then(clear, clear);
    return p;
  }
}
