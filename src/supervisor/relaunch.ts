import type { AgentRecord, SessionRecord } from '../store/types.js';
import type { TabInfo, TerminalBackend } from '../terminals/backend.js';
import type { AgentLifecycle } from './agents.js';
import type { Services } from './context.js';
import { MAX_RELAUNCHES, RELAUNCH_RESET_MS, relaunchDecision } from './health.js';
import type { Notices } from './notices.js';
import type { LiveStatus } from './observer.js';
import type { Roster } from './roster.js';
import { lastOf } from '../util/last-of.js';

/**
 * A Claude Code that exited by itself: relaunched with --resume (same conversation) at most
 * MAX_RELAUNCHES times with backoff, then given up on and a person told. What was done about
 * an agent (attempts, their outcome) is in its record, not in memory: a restarted server
 * continues the count and backoff.
 */
export type RelaunchDeps = Pick<Services, 'backend' | 'log' | 'observer' | 'audit'> & {
  roster: Pick<Roster, 'patchIfThere'>;
  notices: Pick<Notices, 'tell'>;
  /** Closes the dead tab and resumes the conversation in a new one. */
  agents: Pick<AgentLifecycle, 'relaunchAgent'>;
};

export class Relauncher {
  /** Relaunches this process is running (the record's `running` may be a dead server's). */
  private readonly relaunching = new Set<string>();

  constructor(private readonly deps: RelaunchDeps) {}

  /** The keeper's round: relaunches an agent whose Claude Code exited by itself, when the backoff allows. */
  async checkCrash(agent: AgentRecord, session: SessionRecord, live: LiveStatus, now: number): Promise<void> {
    const name = agent.name;
    const r = agent.relaunch;
    const patch = (change: (a: AgentRecord) => unknown) => this.deps.roster.patchIfThere(name, change);
    if (this.relaunching.has(name)) return;
    if (!this.isDead(agent, live)) {
      // Back by other means (recover_session): a later lost tab is a person's doing again.
      if (r?.failed && (live.status === 'idle' || live.status === 'busy')) await patch((a) => a.relaunch && delete a.relaunch.failed);
      // Running again for a while: later exits get their three attempts afresh.
      if (r && !r.gaveUp && now - Date.parse(r.lastAttemptAt) > RELAUNCH_RESET_MS && live.status !== 'starting') {
        await patch((a) => delete a.relaunch);
      }
      return;
    }
    if (r?.gaveUp || this.exitedOnRequest(agent, session, live)) return;
    const decision = relaunchDecision({
      attempts: r?.attempts ?? 0,
      exitedAt: live.since ?? Date.parse(agent.since),
      lastAttemptAt: r ? Date.parse(r.lastAttemptAt) : undefined,
      now,
    });
    if (decision.kind === 'wait') return;
    const lastError = (live.tab && (await screenTail(this.deps.backend, live.tab))) || r?.lastError;
    if (decision.kind === 'give_up') {
      await patch(
        (a) => (a.relaunch = { attempts: r?.attempts ?? 0, lastAttemptAt: r?.lastAttemptAt ?? new Date(now).toISOString(), lastError, gaveUp: true }),
      );
      await this.deps.audit?.append({
        type: 'relaunch',
        agent: name,
        session: session.id,
        outcome: 'gave_up',
        attempts: r?.attempts ?? 0,
        last_error: lastError,
      });
      this.deps.notices.tell({
        agent: name,
        session_id: session.id,
        reason: 'crashed',
        episode: `gave up after ${r?.lastAttemptAt ?? 'no attempt'}`,
        message: `${name}'s Claude Code kept exiting; after ${MAX_RELAUNCHES} relaunches it stays exited. Last error: ${lastError ?? 'none shown'}`,
        action: `Read get_agent_output {agent: "${name}"}, fix the cause, then recover_session or start_new_agent_conversation.`,
      });
      return;
    }
    await patch(
      (a) => (a.relaunch = { attempts: decision.attempt, lastAttemptAt: new Date(now).toISOString(), running: true, ...(lastError ? { lastError } : {}) }),
    );
    this.relaunching.add(name);
    this.deps.log.warn('relaunching agent', { agent: name, attempt: decision.attempt });
    void this.deps.agents
      .relaunchAgent(name)
      .then(async (outcome) => {
        await patch((a) => {
          if (!a.relaunch) return;
          delete a.relaunch.running;
          if (outcome.ok) delete a.relaunch.failed;
          else Object.assign(a.relaunch, { failed: true, lastError: outcome.reason });
        });
        await this.deps.audit?.append({
          type: 'relaunch',
          agent: name,
          session: session.id,
          attempt: decision.attempt,
          outcome: outcome.ok ? 'ok' : 'failed',
          ...(outcome.ok ? {} : { reason: outcome.reason }),
          ...(lastError ? { last_error: lastError } : {}),
          claude_session_id: agent.claudeSessionId,
        });
        this.deps.notices.tell({
          agent: name,
          session_id: session.id,
          reason: outcome.ok ? 'relaunched' : 'crashed',
          episode: `attempt ${decision.attempt} at ${new Date(now).toISOString()}`,
          message: outcome.ok
            ? `${name}'s Claude Code exited by itself and was relaunched with its conversation (attempt ${decision.attempt} of ${MAX_RELAUNCHES}).`
            : `${name}'s Claude Code exited by itself; relaunch attempt ${decision.attempt} of ${MAX_RELAUNCHES} failed: ${outcome.reason}`,
          action: outcome.ok ? 'None needed; get_agent_output shows what it was doing.' : 'tabcrew tries again with backoff; get_agent_output shows the error.',
        });
      })
      .catch((e: Error) => this.deps.log.error('relaunch failed', { agent: name, error: e.message }))
      .finally(() => this.relaunching.delete(name));
  }

  /** The crash a status view shows: given up, a relaunch running, or exited by itself. */
  crashOf(agent: AgentRecord, session: SessionRecord, live: LiveStatus): { since: number; reason: string } | undefined {
    const r = agent.relaunch;
    const since = live.since ?? Date.parse(agent.since);
    if (r?.gaveUp) {
      return { since, reason: `Claude Code exited by itself and was relaunched ${r.attempts} times; gave up. Last error: ${r.lastError ?? 'none shown'}` };
    }
    if (this.relaunching.has(agent.name))
      return { since, reason: `Claude Code exited by itself; relaunch attempt ${r?.attempts ?? 1} of ${MAX_RELAUNCHES} running` };
    if (this.isDead(agent, live) && !this.exitedOnRequest(agent, session, live)) {
      return {
        since,
        reason: `Claude Code exited by itself; ${r?.attempts ?? 0} of ${MAX_RELAUNCHES} relaunches so far${r?.lastError ? `. Last error: ${r.lastError}` : ''}`,
      };
    }
    return undefined;
  }

  /**
   * Exited, or without its tab after a relaunch attempt that failed (or that a restart cut
   * short): `detached` alone is a tab closed by a person, not a crash.
   */
  private isDead(agent: AgentRecord, live: LiveStatus): boolean {
    if (live.status === 'exited') return true;
    const r = agent.relaunch;
    return live.status === 'detached' && !!r && !r.gaveUp && (!!r.failed || (!!r.running && !this.relaunching.has(agent.name)));
  }

  /** `/exit` typed in the tab by the person is an exit they asked for: no relaunch. */
  private exitedOnRequest(agent: AgentRecord, session: SessionRecord, live: LiveStatus): boolean {
    if (live.status !== 'exited') return false;
    const watch = this.deps.observer.watch(agent, session);
    const end = lastOf(watch?.spool.records ?? [], (r) => r.event === 'SessionEnd' && r.session_id === agent.claudeSessionId && r.launch === agent.launchId);
    return end?.reason === 'prompt_input_exit';
  }
}

async function screenTail(backend: Pick<TerminalBackend, 'readScreen'>, tab: TabInfo): Promise<string | undefined> {
  try {
    const lines = (await backend.readScreen(tab, 200)).split('\n').filter((l) => l.trim());
    return lines.length ? lines.slice(-5).join(' | ').slice(0, 500) : undefined;
  } catch {
    return undefined;
  }
}
