import { z } from 'zod';
import { AGENT_REPORT_STATES, MESSAGE_KINDS } from '../../store/message-types.js';

/*
 * The wire between an agent's `tabcrew agent-mcp` and the supervisor's socket: one JSON line
 * per request, one per response, on a connection per call. Every request names the agent and
 * carries its secret; the supervisor checks them before it reads anything else.
 * This file imports only zod and the state's enums: agent-mcp loads it at start-up.
 */

/** 100 KB of message, JSON-escaped (a control character becomes six bytes), plus the envelope. */
export const MAX_REQUEST_BYTES = 1024 * 1024;

export const AGENT_NAME = z
  .string()
  .regex(/^Agent_[1-9][0-9]{0,8}$/, 'an agent name such as Agent_2')
  .describe('An agent name such as "Agent_2".');

/** Parameters of each method, validated again by the supervisor whatever the agent-mcp checked. */
export const AGENT_METHODS = {
  send_message: z.object({
    to: z.union([AGENT_NAME, z.literal('all')]).describe('An agent of your session, or "all" for every other agent of it.'),
    message: z.string().min(1).describe('The text; at most 100 KB.'),
    kind: z.enum(MESSAGE_KINDS).optional().describe('What the message is; default "note".'),
    reply_to: z
      .string()
      .regex(/^m-[0-9a-z]{6,32}$/, 'a message id such as m-abc123def4')
      .optional()
      .describe('The id of the message this one answers.'),
  }),
  check_messages: z.object({}),
  list_peers: z.object({}),
  update_my_status: z.object({
    state: z.enum(AGENT_REPORT_STATES),
    note: z.string().max(500).describe('One line on where you are.'),
  }),
  claim_task: z.object({
    task: z.string().min(1).max(500).describe('The open TODO.md item: its text (or a unique part of it), or its number (1 = first item).'),
  }),
  complete_task: z.object({
    task: z.string().min(1).max(500).describe('An item you claimed: its text (or a unique part of it), or its number.'),
    note: z.string().max(500).optional().describe('One line on what was done; added under the item.'),
  }),
  add_task: z.object({ text: z.string().min(1).max(500).describe('The new item, one line.') }),
} as const;

export type AgentMethod = keyof typeof AGENT_METHODS;
export type AgentParams<M extends AgentMethod> = z.infer<(typeof AGENT_METHODS)[M]>;

export const requestSchema = z.object({
  id: z.number().int().nonnegative(),
  agent: z.string().max(64),
  secret: z.string().max(256),
  method: z.string().max(64),
  params: z.record(z.unknown()).default({}),
});

export type AgentRequest = z.infer<typeof requestSchema>;
export type AgentResponse = { id: number; ok: true; result: Record<string, unknown> } | { id: number; ok: false; error: string };
