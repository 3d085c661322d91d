import type { StateStore } from '../store/state-store.js';
import type { IdKind, LocalPlaces } from './placement.js';

/**
 * The front's own machine, as the router asks about it: its sessions and runs from its
 * state, its permission requests from the supervisor. Before the state is open it holds
 * nothing (calls wait for it anyway).
 */
export function localPlaces(store: () => StateStore | undefined, holdsRequest: (id: string) => Promise<boolean>): LocalPlaces {
  return {
    // Looks (StateStore.peek), not copies: every routed call asks, and a front may have a crew of its own.
    async session(ref) {
      return store()?.peek((state) => {
        if (state.sessions.some((s) => s.id === ref)) return 'id';
        return state.sessions.some((s) => s.name === ref) ? 'name' : undefined;
      });
    },
    async sessionIds() {
      return (await store()?.peek((state) => new Set(state.sessions.map((s) => s.id)))) ?? new Set();
    },
    async holds(kind: IdKind, id: string) {
      if (kind === 'request') return holdsRequest(id);
      return !!(await store()?.peek((state) => state.runs?.some((r) => r.id === id)));
    },
  };
}
