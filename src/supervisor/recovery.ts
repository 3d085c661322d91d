import { existsSync } from 'node:fs';
import type { AgentRecord, SessionRecord, State } from '../store/types.js';
import type { TabInfo } from '../terminals/backend.js';
import { findTab, parseTag } from './observer.js';

export type RecoveryStep =
  /** Its tab is alive: keep it as it is. */
  | { kind: 'adopt'; agent: AgentRecord; session: SessionRecord; tab: TabInfo }
  /** Its tab is gone (or its program ended): open a new tab and resume the conversation. */
  | { kind: 'resume'; agent: AgentRecord; session: SessionRecord; deadTab?: TabInfo }
  /** Another live tabcrew is launching it right now: hands off. */
  | { kind: 'skip'; agent: AgentRecord; reason: string }
  | { kind: 'fail'; agent: AgentRecord; reason: string };

/** unknown_agent: no agent of this state has the tag; duplicate: the agent's tag is held by another live tab too. */
export const ORPHAN_KINDS = ['unknown_agent', 'duplicate'] as const;
/** resumed: `claude --resume`; restarted: no message yet, so started again under its id. */
export const RECOVERY_ACTIONS = ['resumed', 'restarted', 'would_resume'] as const;

export interface Orphan {
  tab: string;
  tag: string;
  title: string;
  why: (typeof ORPHAN_KINDS)[number];
  /** What a person can do about it. */
  fix: string;
}

export interface RecoveryPlan {
  steps: RecoveryStep[];
  orphans: Orphan[];
}

/**
 * What a restart (of tabcrew, the terminal app or the machine) requires, from the state
 * and one listing of the terminal's tabs. Cleared agents have no conversation to bring
 * back; an agent another live tabcrew is launching (`launching(agent)`) is left to it.
 * A tagged tab no agent owns, and a second live tab carrying an agent's tag, are reported,
 * never touched: the first may belong to another tabcrew sharing the terminal.
 */
export function planRecovery(state: State, tabs: readonly TabInfo[], onlySession?: string, launching: (a: AgentRecord) => boolean = () => false): RecoveryPlan {
  const steps: RecoveryStep[] = [];
  const kept = new Set<string>();
  for (const agent of state.agents) {
    if (onlySession && agent.sessionId !== onlySession) continue;
    if (!agent.claudeSessionId || agent.status === 'cleared') continue;
    // Hibernated agents stay asleep until a message or wake_agent wakes them.
    if (agent.hibernated && !findTab(agent, tabs)?.alive) continue;
    const tab = findTab(agent, tabs);
    if (tab) kept.add(tab.id);
    if (launching(agent)) {
      steps.push({ kind: 'skip', agent, reason: 'another tabcrew process is launching it right now' });
      continue;
    }
    const session = state.sessions.find((s) => s.id === agent.sessionId);
    if (!session) {
      steps.push({ kind: 'fail', agent, reason: `its session ${agent.sessionId} no longer exists` });
      continue;
    }
    if (tab?.alive) {
      steps.push({ kind: 'adopt', agent, session, tab });
    } else if (!existsSync(session.root)) {
      steps.push({ kind: 'fail', agent, reason: `its root ${session.root} no longer exists` });
    } else {
      steps.push({ kind: 'resume', agent, session, ...(tab ? { deadTab: tab } : {}) });
    }
  }
  const owned = new Set(state.agents.filter((a) => a.claudeSessionId).map((a) => `${a.name}:${a.claudeSessionId}`));
  const orphans: Orphan[] = [];
  for (const t of tabs) {
    if (onlySession && t.group !== onlySession) continue;
    const tag = parseTag(t.tag);
    if (!tag || kept.has(t.id)) continue;
    if (!owned.has(`${tag.agent}:${tag.claudeSessionId}`)) {
      orphans.push({
        tab: t.id,
        tag: t.tag!,
        title: t.title,
        why: 'unknown_agent',
        fix: 'No agent of this state owns it (another tabcrew on this terminal, or a deleted state). Close it yourself, or run recovery with close_orphans.',
      });
    } else if (t.alive) {
      orphans.push({
        tab: t.id,
        tag: t.tag!,
        title: t.title,
        why: 'duplicate',
        fix: `A second live tab running ${tag.agent}'s conversation: two Claude Code processes on one conversation. Close it (recovery with close_orphans closes it).`,
      });
    }
  }
  return { steps, orphans };
}
