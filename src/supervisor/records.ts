import { realpathSync } from 'node:fs';
import type { AgentRecord, AgentStatus, SessionRecord, State, StatusSource } from '../store/types.js';
import type { TabHandle, TabInfo } from '../terminals/backend.js';
import { UserError } from './errors.js';

/** A session by id or by name, or an error listing the sessions there are. */
export function findSession(state: State, ref: string): SessionRecord {
  const session = state.sessions.find((s) => s.id === ref) ?? state.sessions.find((s) => s.name === ref);
  if (!session) {
    const known = state.sessions.map((s) => `${s.name} (${s.id})`).join(', ') || 'none';
    throw new UserError(`no session "${ref}" (sessions: ${known}). Pass a session id or name from list_sessions (or tabcrew sessions).`);
  }
  return session;
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
