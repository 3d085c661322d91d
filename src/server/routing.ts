/*
 * Where a tool's call goes on a front with nodes (src/crew/router.ts). Each tool says, next
 * to its schema, which of its arguments name what it acts on; the router reads only this,
 * never argument names or tool names. Without a front the declaration is inert.
 *
 *   server.registerTool('get_agent_output', {
 *     inputSchema: { agent: agentRef, lines: … },
 *     ...route({ targets: { agent: 'agent' }, untargeted: 'here' }),
 *   }, …)
 */

/**
 * What an argument names: an agent (a name, or a list of names; `box1/Agent_2` is box1's),
 * a session (id or name), a coordination run id, a permission request id.
 */
export type TargetKind = 'agent' | 'session' | 'run' | 'request';

export interface Route {
  /** Argument → what it names. The call goes where that lives; arguments naming two places are refused. */
  targets: Readonly<Record<string, TargetKind>>;
  /**
   * A call that names none of its targets: 'crew' asks every node at once and merges the
   * answers (read-only tools only), 'here' runs on the front's own machine (or on `node`).
   */
  untargeted: 'crew' | 'here';
  /** The tool itself waits for agents (to start, to reply, a run): a node gets long to answer. Others get seconds. */
  waits?: boolean;
  /**
   * What the call does to the crew's sessions, for the front's map of where each lives:
   * creates one named by this argument (unique across the crew), deletes the one this
   * argument names, or lists a node's every session.
   */
  sessions?: { creates: string } | { deletes: string } | 'lists';
}

export const ROUTE: unique symbol = Symbol('tabcrew.route');

/** Spread into a tool's registerTool config: `...route({ targets: { session: 'session' }, untargeted: 'here' })`. */
export function route(r: Route): { [ROUTE]: Route } {
  return { [ROUTE]: r };
}

/** The route a tool's config declares, if any. */
export function routeOf(config: object): Route | undefined {
  return (config as { [ROUTE]?: Route })[ROUTE];
}
