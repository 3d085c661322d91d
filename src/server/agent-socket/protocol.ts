import { z } from 'zod';
import { AGENT_REPORT_STATES, MESSAGE_KINDS } from '../../store/message-types.js';
import { PRE_TOOL_USE_MAX_INPUT } from '../../claude/hook-commands.js';
import { RUN_MODES } from '../../store/runs.js';
import { MODEL_NAME, MODEL_NAME_HINT } from '../../claude/launch-options.js';

/*
 * The wire between an agent's `tabcrew agent-mcp` and the supervisor's socket: one JSON line
 * per request, one per response, on a connection per call. Every request names the agent and
 * carries its secret; the supervisor checks them before it reads anything else.
 * This file imports only zod, the state's enums, launch-option patterns and a hook size: agent-mcp loads it at start-up.
 */

/** 100 KB of message, JSON-escaped (a control character becomes six bytes), plus the envelope. */
export const MAX_REQUEST_BYTES = 1024 * 1024;

export const AGENT_NAME = z
  .string()
  .regex(/^Agent_[1-9][0-9]{0,8}$/, 'an agent name such as Agent_2')
  .describe('An agent name such as "Agent_2".');

const RUN_ID = z
  .string()
  .regex(/^r-[0-9a-z]{4,32}$/, 'a run id such as r-7q2m0x4k')
  .describe('The run id coordinate_agents returned.');

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
  spawn_agent: z.object({
    role: z.string().max(500).optional().describe('A role id (list in your prompt: backend_developer, testing_specialist, …) or one line of free text.'),
    model: z.string().regex(MODEL_NAME, MODEL_NAME_HINT).optional().describe("The helper's model; default: tabcrew's."),
    task: z
      .string()
      .max(100 * 1024)
      .optional()
      .describe('Its first task, typed once it is ready.'),
  }),
  coordinate_agents: z.object({
    mode: z.enum(RUN_MODES).describe('parallel: everyone at once; sequential: a pipeline; consensus: answers, then a vote.'),
    task: z
      .string()
      .min(1)
      .max(100 * 1024)
      .describe('What every agent is asked.'),
    agents: z.array(AGENT_NAME).max(16).optional().describe('Agents of your session (not yourself), in order.'),
    spawn: z
      .object({ count: z.number().int().min(1).max(8), role: z.string().max(500).optional(), model: z.string().regex(MODEL_NAME, MODEL_NAME_HINT).optional() })
      .optional()
      .describe('New helpers of yours for this run (they count toward your helpers).'),
    per_agent_tasks: z
      .array(z.string().max(100 * 1024))
      .max(24)
      .optional()
      .describe('One task per agent instead of task.'),
    timeout_s: z.number().int().min(1).max(86_400).optional().describe('How long the run collects replies (default 600 s).'),
  }),
  get_coordination: z.object({ run_id: RUN_ID }),
  cancel_coordination: z.object({ run_id: RUN_ID, interrupt: z.boolean().optional().describe("Also stop the agents' running turns (one Escape each).") }),
  /** Not a tool: the agent's hook asks for its usage to be counted now (claude/usage-nudge.ts). */
  count_usage: z.object({
    /** PreToolUse: the call about to run; the count waits (briefly) for its line to reach the transcript. */
    tool_use_id: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,128}$/)
      .optional(),
  }),
  /**
   * Not a tool: the agent's perl PreToolUse hook asks for its answer (supervisor/tool-guard.ts):
   * Claude Code's hook JSON as hex (the exact bytes, one line), its launch id, and whether its
   * launch has session boundaries. Larger calls are decided by the node hook program.
   */
  pre_tool_use: z.object({
    input_hex: z
      .string()
      .max(2 * PRE_TOOL_USE_MAX_INPUT)
      .regex(/^(?:[0-9a-f]{2})*$/, 'the hook JSON in lower-case hex'),
    launch: z
      .string()
      .max(64)
      .regex(/^[\w.-]*$/)
      .optional(),
    boundaries: z.boolean(),
  }),
} as const;

/**
 * Methods neither audited nor logged per call: the hook calls count_usage or pre_tool_use
 * before every tool the agent runs, and they change nothing but a counter that only grows
 * (a denial is in the agent's spool, as the node hook records it).
 */
export const UNAUDITED_METHODS: ReadonlySet<string> = new Set(['count_usage', 'pre_tool_use']);

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
