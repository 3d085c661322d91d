import { z } from 'zod';

/*
 * The durable record of a coordinate_agents run (see supervisor/coordination.ts). It lives
 * in the encrypted state, so a tabcrew that restarts finds the run, the messages it typed
 * (by delivery id) and the replies it already collected, and goes on collecting.
 */

export const RUN_MODES = ['parallel', 'sequential', 'consensus'] as const;
export const RUN_STATES = ['running', 'done', 'partial', 'failed'] as const;
/**
 * pending: not typed yet; sending: being typed (a restart finds out from the hook spool
 * whether it arrived); working: the agent has the message; done: replied; failed: did not
 * get it or its turn failed; skipped: an earlier step of a pipeline failed.
 */
export const STEP_STATUSES = ['pending', 'sending', 'working', 'done', 'failed', 'skipped'] as const;

const tokensSchema = z.object({ input: z.number(), output: z.number(), cache_read: z.number(), cache_creation: z.number() });

export const runStepSchema = z.object({
  agent: z.string().min(1),
  /** 1, or 2 for a consensus vote. */
  round: z.number().int().min(1).max(2),
  status: z.enum(STEP_STATUSES),
  /** The task of this step, when it differs from the run's (per_agent_tasks). */
  task: z.string().optional(),
  deliveryId: z.string().optional(),
  sentAt: z.string().optional(),
  endedAt: z.string().optional(),
  reply: z.string().optional(),
  tokens: tokensSchema.optional(),
  error: z.string().optional(),
});

const ownerSchema = z.object({ pid: z.number().int().positive(), pidStart: z.string(), heartbeat: z.string(), host: z.string(), instance: z.string() });

export const runRecordSchema = z.object({
  id: z.string().min(1),
  sessionId: z.string().min(1),
  mode: z.enum(RUN_MODES),
  task: z.string(),
  state: z.enum(RUN_STATES),
  createdAt: z.string(),
  /** When the run stops waiting (created + timeout_s). */
  deadline: z.string(),
  endedAt: z.string().optional(),
  /** The agent that started it, when an agent did (through its own MCP server). */
  caller: z.string().optional(),
  agents: z.array(z.string()),
  /** Agents this run created (spawn); deleted at the end when removeSpawned. */
  spawned: z.array(z.string()),
  removeSpawned: z.boolean(),
  steps: z.array(runStepSchema),
  cancelled: z.boolean().optional(),
  summary: z.string().optional(),
  /** The tabcrew process collecting it; another one takes over only when this one is gone. */
  owner: ownerSchema.optional(),
});

export type RunMode = (typeof RUN_MODES)[number];
export type RunState = (typeof RUN_STATES)[number];
export type StepStatus = (typeof STEP_STATUSES)[number];
export type RunStep = z.infer<typeof runStepSchema>;
export type RunRecord = z.infer<typeof runRecordSchema>;
