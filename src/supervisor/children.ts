import type { AgentRecord, State } from '../store/types.js';
import { LimitError, UserError } from './errors.js';
import { agentOf } from './roster.js';

/**
 * Agents that start helpers of their own. A child records its parent; a top-level agent
 * (created by the MCP client) has depth 0, its children depth 1, and so on. --max-depth
 * bounds the depth of a new child, --max-children the live children of one parent; both
 * come on top of --max-agents, which counts every agent.
 */

/** Who asks: the MCP client (the person), or one of the agents through its own MCP server. */
export interface Caller {
  agent?: string;
}

export function depthOf(state: State, name: string): number {
  let depth = 0;
  let a = agentOf(state, name);
  // Bounded: a parent chain cannot be longer than the agents there are.
  for (let i = 0; a?.parent && i <= state.agents.length; i++) {
    depth++;
    const parent: string = a.parent;
    a = agentOf(state, parent);
  }
  return depth;
}

export function childrenOf(state: State, name: string): AgentRecord[] {
  return state.agents.filter((a) => a.parent === name);
}

/** Every descendant, deepest first (the order they can be deleted in). */
export function descendantsOf(state: State, name: string): string[] {
  const out: string[] = [];
  const walk = (n: string, depth: number): void => {
    if (depth > state.agents.length) return;
    for (const c of childrenOf(state, n)) {
      walk(c.name, depth + 1);
      out.push(c.name);
    }
  };
  walk(name, 0);
  return out;
}

/** The calling agent's record, checked to belong to the session it acts on. */
export function callerAgent(state: State, caller: Caller, sessionId?: string): AgentRecord | undefined {
  if (!caller.agent) return undefined;
  const me = agentOf(state, caller.agent);
  if (!me) throw new UserError(`the calling agent ${caller.agent} is not supervised by tabcrew (deleted?); nothing was done.`);
  if (sessionId !== undefined && me.sessionId !== sessionId) {
    throw new UserError(`${caller.agent} may act only within its own session; nothing was done. Name agents of your session, or omit the session.`);
  }
  return me;
}

/** Refuses (naming the flag) a new child of `parent` beyond --max-children or --max-depth. Runs under the state lock. */
export function checkChildLimits(state: State, parent: string, limits: { maxChildren: number; maxDepth: number }): void {
  const depth = depthOf(state, parent) + 1;
  if (depth > limits.maxDepth) {
    throw new LimitError(
      `${parent} is at depth ${depth - 1}; a helper of its own would be at depth ${depth}, beyond the limit set by --max-depth (${limits.maxDepth}). Do the work yourself, or ask the person to restart tabcrew with a higher --max-depth.`,
    );
  }
  const children = childrenOf(state, parent);
  if (children.length >= limits.maxChildren) {
    throw new LimitError(
      `${parent} already has ${children.length} helpers (${children.map((c) => c.name).join(', ')}), the limit set by --max-children (${limits.maxChildren}). Delete one (delete_agent) or reuse it with coordinate_agents.`,
    );
  }
}
