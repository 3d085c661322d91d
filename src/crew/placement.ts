import type { Route, TargetKind } from '../server/routing.js';
import { UserError } from '../supervisor/errors.js';
import type { CrewMap } from './crew-map.js';
import { splitAgent } from './names.js';
import { ALL_NODES, LOCAL_NODE } from './node-spec.js';

/** Kinds of ids a node hands out that later calls name. */
export type IdKind = 'run' | 'request';

/** The local machine's side of "where does this live": read from its own state, never from a node. */
export interface LocalPlaces {
  /** How a ref names a local session: by its id, by its name, or not at all. */
  session(ref: string): Promise<'id' | 'name' | undefined>;
  /** Every local session id (a node may not claim one). */
  sessionIds(): Promise<Set<string>>;
  /** Whether a run or permission request id is the local machine's. */
  holds(kind: IdKind, id: string): Promise<boolean>;
}

export type Target = { kind: 'local' } | { kind: 'node'; node: string } | { kind: 'all' };

/** A place a target names; `weak` when it is only "no node said" (a plain agent name). */
type Place = { node: string; weak?: boolean } | undefined;

/**
 * Where a call goes, from the tool's declared route and its arguments: an explicit node,
 * else the one place its target arguments name, else (no target given) every node for a
 * crew-wide read or the local machine. A name or id belongs to one place: the local
 * machine's own first, then the node that reported it first; a name in two places is
 * refused as ambiguous, never guessed.
 */
export class Placement {
  constructor(
    private readonly nodes: () => string[],
    private readonly map: CrewMap,
    private readonly local: LocalPlaces,
  ) {}

  async target(tool: string, route: Route, readOnly: boolean, node: unknown, args: Record<string, unknown>): Promise<Target> {
    if (typeof node === 'string') {
      if (node === ALL_NODES) {
        if (!readOnly) throw new UserError(`node "${ALL_NODES}" (every node) is for read-only tools; ${tool} changes things: name one node`);
        return { kind: 'all' };
      }
      if (node === LOCAL_NODE) return { kind: 'local' };
      if (!this.nodes().includes(node)) throw new UserError(`no node "${node}" in this crew; nodes: ${this.known()}`);
      return { kind: 'node', node };
    }
    const strong = new Set<string>();
    let aimed = false;
    for (const [arg, kind] of Object.entries(route.targets)) {
      const value = args[arg];
      if (value === undefined) continue;
      aimed = true;
      for (const ref of Array.isArray(value) ? value : [value]) {
        if (typeof ref !== 'string') continue;
        const place = await this.placeOf(kind, ref);
        if (place && !place.weak) strong.add(place.node);
      }
    }
    if (strong.size > 1) throw new UserError(`the arguments name things on several nodes (${[...strong].join(', ')}); one call goes to one node`);
    const [place] = strong;
    if (place !== undefined) return place === LOCAL_NODE ? { kind: 'local' } : { kind: 'node', node: place };
    if (!aimed && route.untargeted === 'crew' && this.nodes().length) return { kind: 'all' };
    return { kind: 'local' };
  }

  private placeOf(kind: TargetKind, ref: string): Promise<Place> | Place {
    if (kind === 'agent') return this.placeOfAgent(ref);
    if (kind === 'session') return this.placeOfSession(ref);
    return this.placeOfId(kind, ref);
  }

  /** `box1/Agent_2` is box1's; a plain name is the local machine's unless another target says otherwise. */
  private placeOfAgent(ref: string): Place {
    const { node } = splitAgent(ref);
    if (node === undefined) return { node: LOCAL_NODE, weak: true };
    if (node !== LOCAL_NODE && !this.nodes().includes(node)) throw new UserError(`"${node}/…" names no node of this crew; nodes: ${this.known()}`);
    return { node };
  }

  /**
   * Where a session lives. A local session id is the local machine's, whatever a node says;
   * a name found in more than one place is refused as ambiguous. Undefined: nobody knows it
   * (the local tool then says so).
   */
  private async placeOfSession(ref: string): Promise<Place> {
    const local = await this.local.session(ref);
    if (local === 'id') return { node: LOCAL_NODE };
    const places = new Set<string>(local ? [LOCAL_NODE] : []);
    const byId = this.map.nodeOfSessionId(ref);
    if (byId !== undefined) places.add(byId);
    for (const n of this.map.nodesOfSessionName(ref)) places.add(n);
    if (places.size > 1) {
      const where = [...places];
      throw new UserError(
        `session "${ref}" is ambiguous: there is one on ${where.join(' and on ')}. Pass node (${where.map((n) => `"${n}"`).join(' or ')}) to pick one, or use its session id (s-…).`,
      );
    }
    const [node] = places;
    return node === undefined ? undefined : { node };
  }

  /** A run or request id: the local machine's own first, else the one node that handed it out. */
  private async placeOfId(kind: IdKind, id: string): Promise<Place> {
    if (await this.local.holds(kind, id)) return { node: LOCAL_NODE };
    const node = this.map.nodeOfId(kind, id);
    return node === undefined ? undefined : { node };
  }

  /** A new session's name is free on every node and here (names are one per crew). */
  async checkNewSessionName(node: string, name: unknown): Promise<void> {
    if (typeof name !== 'string') return;
    const elsewhere = this.map.nodesOfSessionName(name).filter((n) => n !== node);
    const onLocal = node !== LOCAL_NODE && (await this.local.session(name)) !== undefined;
    if (elsewhere.length || onLocal) {
      throw new UserError(
        `a session named "${name}" already exists on ${onLocal ? LOCAL_NODE : elsewhere[0]}; session names are unique across the crew: pick another name`,
      );
    }
  }

  private known(): string {
    return [LOCAL_NODE, ...this.nodes()].join(', ');
  }
}
