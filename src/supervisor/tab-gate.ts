/**
 * Agents launched together (a recovery's) ask the terminal for their tabs together: each
 * launch prepares its files, then waits here until every launch of the group is ready for its
 * tab or has dropped out. The terminal then gets every tab in one go (tmux: one process)
 * instead of one by one while the first agents already take the CPU the rest of the
 * preparation and the terminal need. Bounded: a launch that is slow to get there (its lock
 * held by a long send) does not hold the others more than `maxWaitMs` after the first is ready.
 */
export const TAB_GATE_MAX_WAIT_MS = 500;

/** One launch's place at the gate: `ready` before its tab, `leave` once it is done either way. */
export interface TabSeat {
  /** This launch is ready for its tab: resolves when every launch is (or has left), or at the bound. */
  ready(): Promise<void>;
  /** This launch asks for no tab (any more): the others do not wait for it. */
  leave(): void;
}

export class TabGate {
  #waitingFor: number;
  #open!: () => void;
  readonly #opened = new Promise<void>((resolve) => (this.#open = resolve));
  #timer?: NodeJS.Timeout;

  constructor(
    seats: number,
    private readonly maxWaitMs = TAB_GATE_MAX_WAIT_MS,
  ) {
    this.#waitingFor = seats;
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
    return {
      ready: () => {
        this.#timer ??= setTimeout(() => this.#open(), this.maxWaitMs);
        count();
        return this.#opened;
      },
      leave: count,
    };
  }
}
