import type { AlertInput } from './alert.js';

/** A notice without an episode, told again for the same agent and reason within this, is the same event. */
export const SAME_EVENT_MS = 60_000;
/** How long a named episode is remembered (a longer one that is told again is rare and harmless). */
const REMEMBER_MS = 24 * 3600_000;
const MAX_REMEMBERED = 2000;

/**
 * One alert per event, not one per look: remembers which agent + reason + episode was told.
 * A teller that names its episode (a request id, the time a hold began) gets exactly one
 * alert per episode; one that does not gets one per agent and reason per SAME_EVENT_MS, so
 * a status that flaps on successive looks is told once.
 */
export class Episodes {
  private readonly told = new Map<string, number>();

  /** True the first time this event is seen (and remembers it). */
  first(n: Pick<AlertInput, 'agent' | 'reason' | 'episode'>, now = Date.now()): boolean {
    const key = JSON.stringify([n.agent, n.reason, n.episode ?? null]);
    const at = this.told.get(key);
    const keep = n.episode === undefined ? SAME_EVENT_MS : REMEMBER_MS;
    if (at !== undefined && now - at < keep) return false;
    this.told.delete(key);
    this.told.set(key, now);
    // Oldest first (a Map keeps insertion order): the memory stays bounded.
    while (this.told.size > MAX_REMEMBERED) this.told.delete(this.told.keys().next().value!);
    return true;
  }
}
