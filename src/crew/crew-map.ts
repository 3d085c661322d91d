import type { CrewSession } from '../store/types.js';
import type { StateStore } from '../store/state-store.js';

const MAX_IDS = 10_000;
/**
 * The most sessions the front keeps for one node. A node runs a handful (its own
 * --max-sessions is 8 by default); one that reports tens of thousands would otherwise grow
 * the front's state and the work of every answer. Past the cap a node's sessions are still
 * listed, only not routed by name: `node` reaches them.
 */
export const MAX_SESSIONS_PER_NODE = 1000;

/** What one report of a node's sessions did to the map. */
export interface Learned {
  /** Sessions past MAX_SESSIONS_PER_NODE, not kept. */
  over: number;
  /** Ids that already belong to another place (the local machine or another node), not taken. */
  refused: string[];
}

/**
 * Which session (and which other id a node handed out) lives on which node. Sessions are
 * kept in the front's encrypted state, so a restarted front routes `create_agent {session}`
 * before it has heard from the node again; other ids (runs, requests) only for this process.
 * An id belongs to the first place that reported it: a node cannot take over an id another
 * node, or the local machine (`reserved`), already holds.
 */
export class CrewMap {
  private sessions: CrewSession[] = [];
  /** Session id → its node. */
  private owner = new Map<string, string>();
  /** `${kind}\0${id}` → the node that handed it out. */
  private ids = new Map<string, string>();

  constructor(private readonly store: () => StateStore | undefined) {}

  async load(): Promise<void> {
    const state = await this.store()?.read();
    this.index(state?.crew?.sessions ?? []);
  }

  list(): CrewSession[] {
    return [...this.sessions];
  }

  /** The node a session id belongs to. */
  nodeOfSessionId(id: string): string | undefined {
    return this.owner.get(id);
  }

  /** The nodes that have a session of this name (more than one when names collide). */
  nodesOfSessionName(name: string): string[] {
    const nodes = new Set<string>();
    for (const s of this.sessions) if (s.name === name) nodes.add(s.node);
    return [...nodes];
  }

  nodeOfId(kind: string, id: string): string | undefined {
    return this.ids.get(`${kind}\0${id}`);
  }

  /** Remembers an id `node` handed out; false when another node already holds it (it keeps it). */
  rememberId(kind: string, id: string, node: string): boolean {
    const key = `${kind}\0${id}`;
    const held = this.ids.get(key);
    if (held !== undefined) return held === node;
    if (this.ids.size >= MAX_IDS) this.ids.delete(this.ids.keys().next().value!);
    this.ids.set(key, node);
    return true;
  }

  /**
   * Sessions a node reported: `replace` when the report is the node's whole list. Linear in
   * the map and the report; an id held elsewhere (`reserved`: the local machine's) is refused.
   */
  async learnSessions(
    node: string,
    found: { id: string; name: string }[],
    replace: boolean,
    reserved: (id: string) => boolean = () => false,
  ): Promise<Learned> {
    const learned: Learned = { over: 0, refused: [] };
    const reported = new Map<string, string>();
    for (const f of found) {
      const holder = this.owner.get(f.id);
      if ((holder !== undefined && holder !== node) || reserved(f.id)) learned.refused.push(f.id);
      else if (!reported.has(f.id)) reported.set(f.id, f.name);
    }
    // Known sessions keep their place: every status answer names its session again, and an
    // unchanged map must not cost a state write.
    const next: CrewSession[] = [];
    const kept = new Set<string>();
    for (const s of this.sessions) {
      if (s.node !== node) next.push(s);
      else if (reported.has(s.id)) {
        next.push(s.name === reported.get(s.id) ? s : { id: s.id, name: reported.get(s.id)!, node });
        kept.add(s.id);
      } else if (!replace) {
        next.push(s);
        kept.add(s.id);
      }
    }
    for (const [id, name] of reported) {
      if (kept.has(id)) continue;
      if (kept.size >= MAX_SESSIONS_PER_NODE) {
        learned.over++;
        continue;
      }
      next.push({ id, name, node });
      kept.add(id);
    }
    await this.save(next);
    return learned;
  }

  async forget(node: string, ref: string): Promise<void> {
    await this.save(this.sessions.filter((s) => !(s.node === node && (s.id === ref || s.name === ref))));
  }

  private index(sessions: CrewSession[]): void {
    this.sessions = sessions;
    this.owner = new Map();
    for (const s of sessions) if (!this.owner.has(s.id)) this.owner.set(s.id, s.node);
  }

  private async save(next: CrewSession[]): Promise<void> {
    // Entries are reused when unchanged, so identity says "same" without serialising each.
    const same = next.length === this.sessions.length && next.every((s, i) => s === this.sessions[i]);
    if (same) return;
    this.index(next);
    await this.store()?.update((state) => {
      state.crew = { sessions: next };
    });
  }
}
