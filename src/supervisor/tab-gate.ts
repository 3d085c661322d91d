/**
 * Agents launched together (a recovery's) ask the terminal for their tabs together: each
 * launch prepares its files, then waits here until every launch of the group is ready for its
 * tab or has dropped out. The terminal then gets every tab in one go (tmux: one process)
 * instead of one by one while the first agents already take the CPU the rest of the
 * preparation and the terminal need. Bounded: a launch that is slow to get there (its lock
 * held by a long send) does not hold the others more than `maxWaitMs` after the first is ready.
 */
export const TAB_GATE_MAX_WAIT_MS = 500;
/**
 * Their agents become ready at different times, and each recorded its tab in a save of its own
 * (an encrypted state and three fsyncs; a recovery of sixteen made seven or more, and each
 * invalidated what the keeper and the status reads remembered). So a ready launch's record waits
 * for the launches still starting, at most this long after the first of those waiting: the
 * records then go together, as one save. The last launch to get there never waits.
 */
export const RECORD_GATE_MAX_WAIT_MS = 150;

/** One launch's place at the gate: `ready` before its tab, `leave` once it is done either way. */
export interface TabSeat {
  /** This launch is ready for its tab: resolves when every launch is (or has left), or at the bound. */
  ready(): Promise<void>;
  /** This launch asks for no tab (any more) and records none: the others do not wait for it. */
  leave(): void;
  /**
   * This launch is ready to record its tab: resolves when every other launch of the group has
   * got there too (or has left), or at most `recordWaitMs` after the first launch waiting here.
   */
  record(): Promise<void>;
}

export class TabGate {
  #waitingFor: number;
  #open!: () => void;
  readonly #opened = new Promise<void>((resolve) => (this.#open = resolve));
  #timer?: NodeJS.Timeout;
  /** Launches that may still record a tab, and the records waiting to go together. */
  #toRecord: number;
  #held: (() => void)[] = [];
  #recordTimer?: NodeJS.Timeout;

  constructor(
    seats: number,
    private readonly maxWaitMs = TAB_GATE_MAX_WAIT_MS,
    private readonly recordWaitMs = RECORD_GATE_MAX_WAIT_MS,
  ) {
    this.#waitingFor = seats;
    this.#toRecord = seats;
    if (seats <= 0) this.#open();
  }

  seat(): TabSeat {
    let counted = false;
    const count = () => {
      if (counted) return;
      counted = true;
      if (--this.#waitingFor <= 0) {
        clearTimeout(this.#timer);
        this.#open();
      }
    };
    let recording = false;
    const done = () => {
      if (recording) return;
      recording = true;
      this.#toRecord--;
      this.#release();
    };
    return {
      ready: () => {
        this.#timer ??= setTimeout(() => this.#open(), this.maxWaitMs);
        count();
        return this.#opened;
      },
      leave: () => {
        count();
        done();
      },
      record: () =>
        new Promise<void>((resolve) => {
          count();
          this.#held.push(resolve);
          done();
        }),
    };
  }

  /** The records held go now when no other launch can join them, else at the bound. */
  #release(): void {
    if (!this.#held.length) return;
    if (this.#toRecord > 0) {
      this.#recordTimer ??= setTimeout(() => this.#releaseNow(), this.recordWaitMs);
      return;
    }
    this.#releaseNow();
  }

  #releaseNow(): void {
    clearTimeout(this.#recordTimer);
    this.#recordTimer = undefined;
    for (const go of this.#held.splice(0)) go();
  }
}
