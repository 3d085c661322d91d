import { z } from 'zod';
import { mergeRecordSchema } from '../store/merges.js';

/** Output shapes of the review tools (get_agent_changes, merge_agent_work, list_merges). */

const counted = {
  path: z.string(),
  status: z.string().describe('A added, M modified, D deleted, T type changed, ? untracked (new), unchanged (written, now as at HEAD).'),
  added: z.number().int().nullable().describe('Lines added; null for a binary or untracked file.'),
  removed: z.number().int().nullable(),
};

export const fileChange = z.object({
  ...counted,
  committed: z.boolean().describe("On the agent's branch; false: only in its working tree."),
  since: z.string().optional().describe("When the agent's hooks first recorded a write to it (agents without a worktree)."),
});

export const agentChangesShape = {
  agent: z.string(),
  session_id: z.string(),
  isolation: z.enum(['worktree', 'none']),
  base_branch: z.string().nullable(),
  base_commit: z.string(),
  merge_base: z.string().optional(),
  branch: z.string().optional(),
  branch_commit: z.string().optional(),
  commits_ahead: z.number().int().optional(),
  commits_behind: z.number().int().optional(),
  files: z.array(fileChange),
  uncommitted: z.array(z.string()),
  attributed_by: z.literal('hooks').optional(),
  patch: z.string().optional(),
  truncated: z.boolean().optional(),
  note: z.string().optional(),
};

export const checkResult = z.object({
  command: z.string(),
  passed: z.boolean(),
  exit_code: z.number().int().nullable(),
  tail: z.string(),
  ms: z.number(),
  timed_out: z.literal(true).optional(),
});

export const mergeOutcomeShape = {
  merge_id: z.string(),
  agent: z.string(),
  branch: z.string(),
  base_branch: z.string(),
  base_before: z.string(),
  strategy: z.enum(['merge', 'squash']),
  merged: z.boolean(),
  commit: z.string().optional(),
  base_after: z.string().optional(),
  dry_run: z.literal(true).optional(),
  files: z.array(z.object(counted)),
  committed_uncommitted: z.object({ commit: z.string().optional(), files: z.array(z.string()) }).optional(),
  root_checkout_updated: z.boolean().optional(),
  check: checkResult.optional(),
  told_behind: z.array(z.string()).optional(),
  note: z.string().optional(),
};

/** A merge as list_merges shows it: the record the state keeps (store/merges.ts), without its restart bookkeeping. */
export const mergeEntry = mergeRecordSchema.omit({ moving: true, owner: true });
