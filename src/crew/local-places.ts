import type { StateStore } from '../store/state-store.js';
import type { IdKind, LocalPlaces } from './placement.js';

/**
 * The front's own machine, as the router asks about it: its sessions and runs from its
 * state, its permission requests from the supervisor. Before the state is open it holds
 * nothing (calls wait for it anyway).
 */
export function localPlaces(store: () => StateStore | undefined, holdsRequest: (id: string) => Promise<boolean>): LocalPlaces {
  return {
    async session(ref) {
      const state = await store()?.read();
      if (state?.sessions.some((s) => s.id === ref)) return 'id';
      return state?.sessions.some((s) => s.name === ref) ? 'name' : undefined;
    },
    async sessionIds() {
      return new Set((await store()?.read())?.sessions.map((s) => s.id) ?? []);
    },
    async holds(kind: IdKind, id: string) {
      if (kind === 'request') return holdsRequest(id);
      return !!(await store()?.read())?.runs?.some((r) => r.id === id);
    },
  };
}
