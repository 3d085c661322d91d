import type { AgentWatch } from '../claude/watch.js';
import type { AgentRecord, SessionRecord, State } from '../store/types.js';
import type { Progress } from './context.js';
import type { DeliveryRequest } from './delivery.js';

/** What create_agent (and an agent's spawn_agent) asks for: checked by AgentLifecycle.createAgent (agents.ts). */
export interface CreateAgentInput {
  session: string;
  role?: string;
  model?: string;
  permission_mode?: string;
  initial_task?: string;
  /** The spawning agent (spawnAgent); the child limits apply. */
  parent?: string;
  max_cost_usd?: number;
  max_tokens?: number;
  timeout_minutes?: number;
  interrupt?: boolean;
  /** "worktree": the agent works in its own git worktree on branch tabcrew/<agent> (supervisor/worktrees.ts). */
  isolation?: 'none' | 'worktree';
  /** Paths its OS sandbox shows too (supervisor/sandbox-choice.ts): `DIR` or `DIR:rw`. */
  sandbox_extra_paths?: string[];
}

/** What send_message_to_agent asks for: sent by AgentLifecycle.sendMessage (agents.ts). */
export interface MessageInput {
  message: string;
  wait_for_reply?: boolean;
  timeout_s?: number;
  prepend_protocol?: boolean;
  idle_wait_s?: number;
  delivery_id?: string;
  /** false: the caller has no use for the agent's status after the prompt is confirmed (a coordination step), so it is not looked at. Not a tool argument. */
  status_after?: boolean;
}

/**
 * A state a caller of AgentLifecycle.sendMessage read after taking the agent's lock stamp
 * (lockStamp; null: the lock was held then): a fan-out's messages share the run's one read
 * instead of copying the whole state each, and when no verb took the agent's lock since,
 * its records from that read serve under the lock.
 */
export interface SharedRead {
  state: State;
  stamp: number | undefined | null;
}

/** The delivery a message asks for, with the defaults of send_message_to_agent. */
export function deliveryOf(input: MessageInput, to: { agent: AgentRecord; session: SessionRecord; watch: AgentWatch }, progress?: Progress): DeliveryRequest {
  return {
    agent: to.agent.name,
    sessionName: to.session.name,
    watch: to.watch,
    message: input.message,
    prependProtocol: input.prepend_protocol ?? true,
    waitForReply: input.wait_for_reply ?? false,
    timeoutS: input.timeout_s ?? 600,
    idleWaitS: input.idle_wait_s ?? 60,
    progress,
    deliveryId: input.delivery_id,
    ...(input.status_after === false ? { statusAfter: false } : {}),
    records: { agent: to.agent, session: to.session },
  };
}
