import type { State } from '../store/types.js';
import type { AgentLifecycle } from './agents.js';
import { callerAgent, type Caller } from './children.js';
import type { RunMode, RunRecord } from '../store/runs.js';
import { checkMessage } from './delivery.js';
import { UserError } from './errors.js';
import { agentOf, findSession } from './roster.js';

export interface CoordinateInput {
  /** Optional only for an agent caller: its own session. */
  session?: string;
  mode: RunMode;
  task: string;
  agents?: string[];
  spawn?: { count: number; role?: string; model?: string };
  per_agent_tasks?: string[];
  timeout_s?: number;
  remove_spawned?: boolean;
  wait?: boolean;
}

export const DEFAULT_RUN_TIMEOUT_S = 600;

/** What coordinate_agents is asked to do, checked before anything starts: the session, the agents it names, the timeout. */
export function checkRunInput(
  state: State,
  input: CoordinateInput,
  caller: Caller,
): { session: ReturnType<typeof findSession>; listed: string[]; timeoutS: number } {
  checkMessage(input.task);
  for (const t of input.per_agent_tasks ?? []) checkMessage(t);
  const timeoutS = input.timeout_s ?? DEFAULT_RUN_TIMEOUT_S;
  const me = input.session === undefined ? callerAgent(state, caller) : undefined;
  if (input.session === undefined && !me) throw new UserError('coordinate_agents needs a session: pass session (id or name).');
  const session = findSession(state, input.session ?? me!.sessionId);
  callerAgent(state, caller, session.id);
  const listed = input.agents ?? [];
  checkListed(state, session.id, listed, caller);
  const total = listed.length + (input.spawn?.count ?? 0);
  if (total === 0)
    throw new UserError('name the agents to coordinate (agents: ["Agent_1", …]) or ask for new ones (spawn: { count: 3 }); nothing was started.');
  if (input.mode === 'consensus' && total < 2) throw new UserError(`consensus needs at least 2 agents (got ${total}): add agents or spawn more.`);
  if (input.per_agent_tasks) {
    if (input.mode === 'consensus') throw new UserError('per_agent_tasks is for parallel and sequential runs; a consensus gives every agent the same task.');
    if (input.per_agent_tasks.length !== total) {
      throw new UserError(
        `per_agent_tasks has ${input.per_agent_tasks.length} tasks for ${total} agents: give one per agent, in the order of agents then spawned ones.`,
      );
    }
  }
  return { session, listed, timeoutS };
}

function checkListed(state: State, sessionId: string, listed: string[], caller: Caller): void {
  const seen = new Set<string>();
  for (const name of listed) {
    if (seen.has(name)) throw new UserError(`${name} is listed twice in agents: name each agent once.`);
    seen.add(name);
    if (name === caller.agent) throw new UserError(`${name} cannot be one of its own run's agents (it is busy waiting for them): leave it out.`);
    const a = agentOf(state, name);
    if (!a) throw new UserError(`no agent named "${name}" (agents: ${state.agents.map((x) => x.name).join(', ') || 'none'}); nothing was started.`);
    if (a.sessionId !== sessionId) throw new UserError(`${name} belongs to another session; a run coordinates agents of one session. Nothing was started.`);
  }
}

/** The run `runId`, as far as `caller` may see it (an agent sees its own session's runs). */
export function findRun(state: State, runId: string, caller: Caller): RunRecord {
  const run = state.runs?.find((r) => r.id === runId);
  const me = callerAgent(state, caller);
  if (!run || (me && run.sessionId !== me.sessionId)) {
    throw new UserError(`no coordination run "${runId}"${me ? ' in your session' : ''}; list them with tabcrew runs (run ids look like r-…).`);
  }
  return run;
}

/** The helpers a run asks for (`spawn`), started together; if one fails, the others are removed and the run does not start. */
export async function spawnForRun(
  agents: Pick<AgentLifecycle, 'spawnAgent' | 'deleteAgent'>,
  sessionId: string,
  spawn: CoordinateInput['spawn'],
  caller: Caller,
): Promise<string[]> {
  if (!spawn?.count) return [];
  const made = await Promise.allSettled(
    Array.from({ length: spawn.count }, () => agents.spawnAgent({ session: sessionId, role: spawn.role, model: spawn.model }, { caller }).then((c) => c.agent)),
  );
  const names = made.flatMap((m) => (m.status === 'fulfilled' ? [m.value] : []));
  const failed = made.find((m): m is PromiseRejectedResult => m.status === 'rejected');
  if (failed) {
    for (const n of names) await agents.deleteAgent(n, { cascade: true }).catch(() => undefined);
    throw failed.reason instanceof Error ? failed.reason : new Error(String(failed.reason));
  }
  return names;
}
