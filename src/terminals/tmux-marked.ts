/*
 * How the control client (tmux-control.ts) reads the answer to one command line. tmux answers
 * each command of a line with a block of its own, `%begin T N 1`, the output, then `%end T N 1`
 * (`%error T N 1` when it failed), and writes the output as it is: a pane's text read through
 * it (capture-pane) may hold a line that looks like tmux's own `%end T N 1`. So commands whose
 * output is such text are each followed by `display-message -p <nonce>-<i>`, a line only tmux
 * can print (the nonce is random and never on a screen), and a command's output is everything
 * from its block's start to the marker's block: a line imitating tmux inside it is text.
 */

export type Read = 'more' | 'done' | 'lost';

/** The reader of the oldest command sent: fed tmux's lines until it has its answer. */
export interface Reader {
  /** 'lost': the answer did not have the shape it must have, and what follows cannot be matched to the commands sent. */
  line(line: string): Read;
  /** The client is gone: no answer. */
  abandon(): void;
}

/** A begin line of a command this client sent (the attach itself is answered with flags 0). */
const BEGIN = /^%begin (\d+ \d+ 1)$/;

function output(lines: readonly string[]): string {
  return lines.join('\n') + (lines.length ? '\n' : '');
}

/** One command whose output is tabcrew's own (a listing in its format): one block. */
export class OneBlock implements Reader {
  #guard?: string;
  readonly #lines: string[] = [];

  constructor(private readonly done: (out: string | undefined) => void) {}

  line(line: string): Read {
    if (this.#guard === undefined) {
      // Anything before the block is a notification (%session-changed, …).
      this.#guard = BEGIN.exec(line)?.[1];
      return 'more';
    }
    if (line === `%end ${this.#guard}`) this.done(output(this.#lines));
    else if (line === `%error ${this.#guard}`) this.done(undefined);
    else {
      this.#lines.push(line);
      return 'more';
    }
    return 'done';
  }

  abandon(): void {
    this.done(undefined);
  }
}

/** `count` commands, each followed by its marker (`<nonce>-<i>`): their outputs in order. */
export class MarkedBlocks implements Reader {
  readonly #outs: string[] = [];
  /** The guard of the command's block being read, undefined before it begins. */
  #guard?: string;
  /** The guard of the marker's block once the marker is read: its end comes next. */
  #markerGuard?: string;
  #lines: string[] = [];

  constructor(
    private readonly nonce: string,
    private readonly count: number,
    private readonly done: (outs: string[] | undefined) => void,
  ) {}

  line(line: string): Read {
    if (this.#markerGuard !== undefined) {
      if (line !== `%end ${this.#markerGuard}`) return this.#lost();
      this.#markerGuard = undefined;
      this.#guard = undefined;
      if (this.#outs.length < this.count) return 'more';
      this.done(this.#outs);
      return 'done';
    }
    if (this.#guard === undefined) {
      // Between blocks only tmux writes: notifications, then the next block.
      this.#guard = BEGIN.exec(line)?.[1];
      this.#lines = [];
      return 'more';
    }
    if (line === `${this.nonce}-${this.#outs.length}`) {
      // Just before the marker: the command's real end and the marker's begin.
      const markerBegin = BEGIN.exec(this.#lines.at(-1) ?? '');
      if (!markerBegin || this.#lines.at(-2) !== `%end ${this.#guard}`) return this.#lost();
      this.#outs.push(output(this.#lines.slice(0, -2)));
      this.#markerGuard = markerBegin[1];
      return 'more';
    }
    // A failed command ends the line (tmux runs none after it), or a pane imitates its end:
    // either way no marker is coming.
    if (line === `%error ${this.#guard}`) return this.#lost();
    this.#lines.push(line);
    return 'more';
  }

  abandon(): void {
    this.done(undefined);
  }

  #lost(): Read {
    this.done(undefined);
    return 'lost';
  }
}
