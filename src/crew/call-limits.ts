/*
 * How long the front waits for a node. A node that never answers must cost a crew-wide read
 * a few seconds, not the whole answer: every node of a fan-out has the read deadline
 * (`serve --node-read-timeout`), and a call to one node a limit sized to what the tool does.
 * Only a tool that itself waits (for an agent to start, a reply, a run) gets long.
 */

/** Each node's share of a crew-wide read (list_sessions, get_session_status of every session…). */
export const DEFAULT_NODE_READ_TIMEOUT_MS = 5_000;

/** One node's read: a status of a big session over a slow link, still short. */
export const NODE_READ_LIMIT_MS = 15_000;
/** One node's change that does not wait for an agent (create_session, decide_permission…). */
export const NODE_CHANGE_LIMIT_MS = 60_000;
/**
 * A tool that waits for an agent (create_agent, send_message_to_agent with its reply…): an
 * hour, as before. A longer wait (a coordinate_agents run of hours) keeps going on the node;
 * get_coordination reads it there.
 */
export const NODE_WAIT_LIMIT_MS = 3_600_000;

export function nodeCallLimit(kind: { readOnly: boolean; waits?: boolean }): number {
  if (kind.waits) return NODE_WAIT_LIMIT_MS;
  return kind.readOnly ? NODE_READ_LIMIT_MS : NODE_CHANGE_LIMIT_MS;
}

export const TIMED_OUT: unique symbol = Symbol('timed out');

/** `work`, or TIMED_OUT once `ms` have passed; the timer never outlives the race. */
export async function within<T>(work: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export const seconds = (ms: number): string => `${Math.round(ms / 100) / 10} s`;
