import type { State } from './types.js';

/**
 * The state of the newest file as this process last saved or validated it, with that file's
 * identity: while the file is unchanged, neither an update nor a read decrypts, validates or
 * checks it against the mark again. A state lent out whole (StateStore.snapshot) is never
 * changed afterwards: the next update changes a copy of it, so a reader holding it across
 * awaits sees one state from start to end, as it would with a copy of its own.
 */
export class KnownState {
  private known?: { identity: string; state: State };
  private readonly lent = new WeakSet<State>();

  /** The known state, when the file still has `identity`. */
  get(identity: string | undefined): State | undefined {
    return identity !== undefined && this.known?.identity === identity ? this.known.state : undefined;
  }

  set(identity: string | undefined, state: State): void {
    if (identity !== undefined) this.known = { identity, state };
  }

  /** Marks `state` as lent: nobody changes it from now on. */
  lend(state: State): State {
    this.lent.add(state);
    return state;
  }

  /**
   * For an update: the known state to change in place when the file still has `identity`
   * (a copy of it when it was lent), and forgets it: it is known again only once saved.
   */
  take(identity: string | undefined): State | undefined {
    const state = this.get(identity);
    this.known = undefined;
    if (!state) return undefined;
    return this.lent.has(state) ? structuredClone(state) : state;
  }
}
