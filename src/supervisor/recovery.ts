import { existsSync } from 'node:fs';
import type { AgentRecord, SessionRecord, State } from '../store/types.js';
import type { TabInfo } from '../terminals/backend.js';
import { findTab, parseTag } from './lifecycle.js';

export type RecoveryStep =
  /** Its tab is alive: keep it as it is. */
  | { kind: 'adopt'; agent: AgentRecord; session: SessionRecord; tab: TabInfo }
  /** Its tab is gone (or its program ended): open a new tab and resume the conversation. */
  | { kind: 'resume'; agent: AgentRecord; session: SessionRecord; deadTab?: TabInfo }
  | { kind: 'fail'; agent: AgentRecord; reason: string };

export interface Orphan {
  tab: string;
  tag: string;
  title: string;
}

export interface RecoveryPlan {
  steps: RecoveryStep[];
  orphans: Orphan[];
}

/**
 * What a restart (of tabcrew, the terminal app or the machine) requires, from the state
 * and one listing of the terminal's tabs. Cleared agents have no conversation to bring
 * back. A tagged tab no agent owns is reported, never touched: it may belong to another
 * tabcrew sharing the terminal.
 */
export function planRecovery(state: State, tabs: readonly TabInfo[], onlySession?: string): RecoveryPlan {
  const steps: RecoveryStep[] = [];
  for (const agent of state.agents) {
    if (onlySession && agent.sessionId !== onlySession) continue;
    if (!agent.claudeSessionId || agent.status === 'cleared') continue;
    const session = state.sessions.find((s) => s.id === agent.sessionId);
    if (!session) {
      steps.push({ kind: 'fail', agent, reason: `its session ${agent.sessionId} no longer exists` });
      continue;
    }
    const tab = findTab(agent, tabs);
    if (tab?.alive) {
      steps.push({ kind: 'adopt', agent, session, tab });
    } else if (!existsSync(session.root)) {
      steps.push({ kind: 'fail', agent, reason: `its root ${session.root} no longer exists` });
    } else {
      steps.push({ kind: 'resume', agent, session, ...(tab ? { deadTab: tab } : {}) });
    }
  }
  const owned = new Set(state.agents.filter((a) => a.claudeSessionId).map((a) => `${a.name}:${a.claudeSessionId}`));
  const orphans = tabs
    .filter((t) => !onlySession || t.group === onlySession)
    .filter((t) => {
      const tag = parseTag(t.tag);
      return tag && !owned.has(`${tag.agent}:${tag.claudeSessionId}`);
    })
    .map((t) => ({ tab: t.id, tag: t.tag!, title: t.title }));
  return { steps, orphans };
}
