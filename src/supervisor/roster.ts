import { realpathSync } from 'node:fs';
import type { StateStore } from '../store/state-store.js';
import type { AgentRecord, AgentStatus, SessionRecord, State, StatusSource } from '../store/types.js';
import type { TabHandle, TabInfo } from '../terminals/backend.js';
import { UserError } from './errors.js';

/**
 * Who is in the crew: an agent by name, its session, its peers, a session by id or name, and
 * locked patches of an agent's record. The pure lookups work on a State (inside a store
 * update too); the Roster reads and patches through the store.
 */

/** A session by id or by name, or an error listing the sessions there are. */
export function findSession(state: State, ref: string): SessionRecord {
  const session = state.sessions.find((s) => s.id === ref) ?? state.sessions.find((s) => s.name === ref);
  if (!session) {
    const known = state.sessions.map((s) => `${s.name} (${s.id})`).join(', ') || 'none';
    throw new UserError(`no session "${ref}" (sessions: ${known}). Pass a session id or name from list_sessions (or tabcrew sessions).`);
  }
  return session;
}

export function agentOf(state: State, name: string): AgentRecord | undefined {
  return state.agents.find((a) => a.name === name);
}

export function sessionOf(state: State, agent: Pick<AgentRecord, 'sessionId'> | undefined): SessionRecord | undefined {
  return agent && state.sessions.find((s) => s.id === agent.sessionId);
}

/** An agent with its session, when both are there. */
export function agentAndSession(state: State, name: string): { agent: AgentRecord; session: SessionRecord } | undefined {
  const agent = agentOf(state, name);
  const session = sessionOf(state, agent);
  return agent && session ? { agent, session } : undefined;
}

export function agentsIn(state: State, sessionId: string): AgentRecord[] {
  return state.agents.filter((a) => a.sessionId === sessionId);
}

/** The names of the other agents of an agent's session. */
export function peersOf(state: State, agent: Pick<AgentRecord, 'name' | 'sessionId'>): string[] {
  return state.agents.filter((a) => a.sessionId === agent.sessionId && a.name !== agent.name).map((a) => a.name);
}

/** The roots of every session but this one: what an agent of it is denied (policy.ts denyRulesFor). */
export function otherRootsOf(state: State, sessionId: string): string[] {
  return state.sessions.filter((s) => s.id !== sessionId).map((s) => s.root);
}

export function setStatus(a: AgentRecord, s: { status: AgentStatus; source: StatusSource; since?: number }): void {
  a.status = s.status;
  a.statusSource = s.source;
  a.since = new Date(s.since ?? Date.now()).toISOString();
}

/** What the state keeps of a listed tab. */
export function handleOf(t: TabInfo): TabHandle {
  return { backend: t.backend, id: t.id, ...(t.pane ? { pane: t.pane } : {}), ...(t.pid ? { pid: t.pid } : {}), ...(t.tty ? { tty: t.tty } : {}) };
}

export function realpathOrSelf(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

export class Roster {
  constructor(private readonly store: Pick<StateStore, 'read' | 'update'>) {}

  /** The agent, its session and the state read, or an error that lists the agents there are. */
  async find(name: string): Promise<{ agent: AgentRecord; session: SessionRecord; state: State }> {
    return this.lookup(await this.store.read(), name);
  }

  /** As find, in a state read before. */
  lookup(state: State, name: string): { agent: AgentRecord; session: SessionRecord; state: State } {
    const agent = agentOf(state, name);
    if (!agent) {
      const known = state.agents.map((a) => a.name).join(', ') || 'none';
      throw new UserError(`no agent named "${name}" (agents: ${known}). Agent names look like Agent_1.`);
    }
    const session = sessionOf(state, agent);
    if (!session) throw new UserError(`${name} belongs to session ${agent.sessionId}, which no longer exists.`);
    return { agent, session, state };
  }

  /** Changes the agent's record under the state lock; an agent deleted meanwhile is an error. */
  async patch(name: string, patch: (a: AgentRecord) => void): Promise<AgentRecord> {
    return this.store.update((state) => {
      const agent = agentOf(state, name);
      if (!agent) throw new UserError(`${name} was deleted while this call ran.`);
      patch(agent);
      return structuredClone(agent);
    });
  }

  /** Changes the agent's record under the state lock, if it is still there (the keeper's marks). */
  async patchIfThere(name: string, change: (a: AgentRecord) => unknown): Promise<void> {
    await this.store.update((state) => {
      const a = agentOf(state, name);
      if (a) change(a);
    });
  }
}
