import { z } from 'zod';

/*
 * The durable record of merge_agent_work calls (supervisor/review/merge-queue.ts): the merge
 * queue of each session lives in the encrypted state, so list_merges after a restart still
 * shows what was merged and refused, and a merge its server died in the middle of is found,
 * checked (review/merge-recovery.ts) and shown as interrupted. Its fields are named as
 * list_merges shows them.
 */

export const MERGE_STATES = ['queued', 'running', 'done', 'refused', 'failed', 'interrupted'] as const;

const ownerSchema = z.object({ pid: z.number().int().positive(), pidStart: z.string(), heartbeat: z.string(), host: z.string(), instance: z.string() });

export const mergeRecordSchema = z.object({
  merge_id: z.string().min(1),
  session_id: z.string().min(1),
  agent: z.string().min(1),
  state: z.enum(MERGE_STATES),
  dry_run: z.literal(true).optional(),
  queued_at: z.string(),
  started_at: z.string().optional(),
  finished_at: z.string().optional(),
  base_branch: z.string().optional(),
  base_before: z.string().optional(),
  base_after: z.string().optional(),
  commit: z.string().optional(),
  conflicts: z.array(z.string()).optional(),
  reason: z.string().optional(),
  /**
   * Written just before the base branch moves and removed when the merge ends: a restart that
   * finds it knows where the base was and where it was going.
   */
  moving: z.object({ ref: z.string().min(1), from: z.string().min(1), to: z.string().min(1) }).optional(),
  /** The tabcrew process running it, while it is queued or running; another one takes it as interrupted only when this one is gone. */
  owner: ownerSchema.optional(),
});

export type MergeState = (typeof MERGE_STATES)[number];
export type MergeRecord = z.infer<typeof mergeRecordSchema>;
