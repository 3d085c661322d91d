import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { SessionRecord } from '../store/types.js';
import type { AgentLifecycle } from './agents.js';
import { writeBoundaries } from './boundaries.js';
import type { Services } from './context.js';
import { LimitError, UserError } from './errors.js';
import { newSessionId } from './ids.js';
import { checkRoot, type PolicyOptions } from './policy.js';
import { overlapMessage, overlappingSession, resolveRoot } from './roots.js';
import { agentsIn, findSession } from './roster.js';

const SESSION_NAME = /^[^\p{Cc}[\]]{1,64}$/u;

export type SessionsDeps = Pick<Services, 'config' | 'store' | 'log'> & {
  policy: PolicyOptions;
  /** Deleting a session deletes its agents first. */
  agents: Pick<AgentLifecycle, 'deleteAgent'>;
};

/** Sessions: one root directory each (no two overlapping), named, limited by --max-sessions. */
export class Sessions {
  constructor(private readonly deps: SessionsDeps) {}

  async createSession(input: { root: string; name?: string }): Promise<{ session_id: string; name: string; root: string }> {
    const root = await resolveRoot(input.root);
    checkRoot(root, this.deps.policy);
    const name = (input.name ?? basename(root)).trim() || 'root';
    if (!SESSION_NAME.test(name)) {
      throw new UserError(`session name "${name}" is not allowed: use 1–64 characters without control characters or brackets.`);
    }
    const { config } = this.deps;
    const session = await this.deps.store.update((state) => {
      const other = overlappingSession(root, state.sessions);
      if (other) throw new UserError(overlapMessage(root, other));
      if (state.sessions.some((s) => s.name === name)) {
        throw new UserError(`a session named "${name}" already exists: pass a different name.`);
      }
      if (state.sessions.length >= config.maxSessions) {
        throw new LimitError(
          `tabcrew already runs ${state.sessions.length} sessions, the limit set by --max-sessions (${config.maxSessions}). Delete a session or restart tabcrew with a higher --max-sessions.`,
        );
      }
      const record: SessionRecord = { id: newSessionId(), name, root, createdAt: new Date().toISOString() };
      state.sessions.push(record);
      return record;
    });
    await writeBoundaries(this.deps.store, config);
    this.deps.log.info('session created', { session: session.id });
    return { session_id: session.id, name: session.name, root: session.root };
  }

  /** The id and name of a session given by either. */
  async sessionNames(ref: string): Promise<{ id: string; name: string }> {
    const s = findSession(await this.deps.store.read(), ref);
    return { id: s.id, name: s.name };
  }

  async listSessions(): Promise<{ sessions: { session_id: string; name: string; root: string; agents: string[] }[] }> {
    const state = await this.deps.store.read();
    return {
      sessions: state.sessions.map((s) => ({
        session_id: s.id,
        name: s.name,
        root: s.root,
        agents: agentsIn(state, s.id).map((a) => a.name),
      })),
    };
  }

  async deleteSession(sessionRef: string): Promise<{ session_id: string; deleted: true; agents_deleted: string[] }> {
    // Marked first, under the lock: from then on no create_agent (of any tabcrew on this
    // state) reserves an agent in it, so the agents listed below are all there will be.
    const session = await this.deps.store.update((state) => {
      const s = findSession(state, sessionRef);
      s.deleting = true;
      return structuredClone(s);
    });
    const deleted: string[] = [];
    for (const agent of agentsIn(await this.deps.store.read(), session.id)) {
      await this.deps.agents.deleteAgent(agent.name, { cascade: true, keepDirtyWorktree: true }).catch((e: unknown) => {
        // Deleted meanwhile by another call: nothing left to stop.
        if (!(e instanceof UserError)) throw e;
      });
      deleted.push(agent.name);
    }
    await this.deps.store.update((state) => {
      state.sessions = state.sessions.filter((s) => s.id !== session.id);
    });
    await writeBoundaries(this.deps.store, this.deps.config);
    this.deps.log.info('session deleted', { session: session.id, agents: deleted });
    return { session_id: session.id, deleted: true, agents_deleted: deleted };
  }

  /** TODO.md of the session root, as text (null when there is none). */
  async getTodo(ref: string): Promise<{ session_id: string; path: string; text: string | null }> {
    const session = findSession(await this.deps.store.read(), ref);
    const path = join(session.root, 'TODO.md');
    try {
      return { session_id: session.id, path, text: await readFile(path, 'utf8') };
    } catch {
      return { session_id: session.id, path, text: null };
    }
  }
}
