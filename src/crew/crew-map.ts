import type { CrewSession } from '../store/types.js';
import type { StateStore } from '../store/state-store.js';

const MAX_IDS = 10_000;

/**
 * Which session (and which other id a node handed out) lives on which node. Sessions are
 * kept in the front's encrypted state, so a restarted front routes `create_agent {session}`
 * before it has heard from the node again; other ids (runs, requests) only for this process.
 */
export class CrewMap {
  private sessions: CrewSession[] = [];
  private ids = new Map<string, string>();

  constructor(private readonly store: () => StateStore | undefined) {}

  async load(): Promise<void> {
    const state = await this.store()?.read();
    this.sessions = state?.crew?.sessions ?? [];
  }

  list(): CrewSession[] {
    return [...this.sessions];
  }

  /** The nodes a session id or name belongs to (more than one when names collide). */
  nodesOfSession(ref: string): string[] {
    return [...new Set(this.sessions.filter((s) => s.id === ref || s.name === ref).map((s) => s.node))];
  }

  nodeOfId(id: string): string | undefined {
    return this.ids.get(id);
  }

  rememberId(id: string, node: string): void {
    if (this.ids.size >= MAX_IDS) this.ids.delete(this.ids.keys().next().value!);
    this.ids.set(id, node);
  }

  /** Sessions a node reported: `replace` when the report is the node's whole list. */
  async learnSessions(node: string, found: { id: string; name: string }[], replace: boolean): Promise<void> {
    // Known sessions keep their place: every status answer names its session again, and an
    // unchanged map must not cost a state write.
    const byId = new Map(found.map((f) => [f.id, f]));
    const next = this.sessions
      .filter((s) => s.node !== node || !replace || byId.has(s.id))
      .map((s) => (s.node === node && byId.has(s.id) ? { id: s.id, name: byId.get(s.id)!.name, node } : s));
    for (const f of found) if (!next.some((s) => s.node === node && s.id === f.id)) next.push({ id: f.id, name: f.name, node });
    await this.save(next);
  }

  async forget(node: string, ref: string): Promise<void> {
    await this.save(this.sessions.filter((s) => !(s.node === node && (s.id === ref || s.name === ref))));
  }

  private async save(next: CrewSession[]): Promise<void> {
    const same = next.length === this.sessions.length && next.every((s, i) => JSON.stringify(s) === JSON.stringify(this.sessions[i]));
    this.sessions = next;
    if (same) return;
    await this.store()?.update((state) => {
      state.crew = { sessions: next };
    });
  }
}
