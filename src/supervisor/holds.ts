import type { AgentRecord } from '../store/types.js';
import type { LiveStatus } from './observer.js';

/**
 * What the observer reports for an agent the supervisor holds on purpose: an idle agent
 * with a budget or timeout hold is `paused` (it takes no messages until resume_agent).
 * A hibernated agent without its tab is `hibernated`. Anything else stands as observed: a person may type into a paused agent's tab, and a
 * held agent whose Claude Code died is dead, not paused.
 */
export function withHold(agent: AgentRecord, live: LiveStatus): LiveStatus {
  // Asleep on purpose: no tab and no process is what hibernation looks like, not a loss.
  if (agent.hibernated && (live.status === 'detached' || live.status === 'exited' || live.status === 'hibernated')) {
    return { status: 'hibernated', source: 'supervisor', since: Date.parse(agent.hibernated.at) };
  }
  // Relaunches given up: the agent is dead until a person brings it back, whatever became of its tab.
  if (agent.relaunch?.gaveUp && (live.status === 'detached' || live.status === 'exited')) {
    return { status: 'exited', source: 'supervisor', since: Date.parse(agent.relaunch.lastAttemptAt) };
  }
  if (agent.hold && (live.status === 'idle' || live.status === 'paused')) {
    return { ...live, status: 'paused', source: 'supervisor', since: Date.parse(agent.hold.at) };
  }
  return live;
}
