import type { Progress } from './progress.js';

/**
 * The crew-wide start queue (`--max-starting N`): at most N agents start at once; the others
 * wait their turn, first come first served, and a caller with a progress token hears where it
 * stands. A start is a Claude Code launch until its input box is ready; a burst of them is
 * what the API refuses first after a usage limit resets.
 */
export class StartQueue {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly max: number,
    private readonly reportEveryMs = 1000,
  ) {}

  /** Agents starting now, and starts waiting for a free place. */
  get counts(): { starting: number; queued: number } {
    return { starting: this.running, queued: this.waiting.length };
  }

  /** Runs `start` once fewer than `max` starts are running; `name` is what progress messages call it. */
  async run<T>(name: string, start: () => Promise<T>, progress?: Progress): Promise<T> {
    if (this.running >= this.max) await this.turn(name, progress);
    else this.running++;
    try {
      return await start();
    } finally {
      // The place passes straight to the next in line, so no newcomer slips in between.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }

  private turn(name: string, progress?: Progress): Promise<void> {
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const tell = (): void => {
        const ahead = this.waiting.indexOf(go);
        progress?.({ progress: 0, message: `${name} waits to start: ${ahead + 1} in line, ${this.running} starting (--max-starting ${this.max})` });
      };
      const go = (): void => {
        if (timer) clearInterval(timer);
        resolve();
      };
      this.waiting.push(go);
      if (progress) {
        tell();
        timer = setInterval(tell, this.reportEveryMs);
        timer.unref();
      }
    });
  }
}
