import { z } from 'zod';
import { RUN_MODES, RUN_STATES } from '../store/runs.js';
import { RESULT_STATUSES } from '../supervisor/coordination-view.js';

/** The output of coordinate_agents, get_coordination and cancel_coordination: one shape, declared once. */

const tokens = z.object({ input: z.number(), output: z.number(), cache_read: z.number(), cache_creation: z.number() });
const resultStatus = z.enum(RESULT_STATUSES);

export const runOutputSchema = {
  run_id: z.string(),
  mode: z.enum(RUN_MODES),
  state: z.enum(RUN_STATES),
  session_id: z.string(),
  created_at: z.string(),
  deadline: z.string(),
  ended_at: z.string().optional(),
  caller: z.string().optional().describe('The agent that started the run, when an agent did.'),
  agents: z.array(z.string()),
  spawned: z.array(z.string()),
  progress: z.object({ done: z.number(), total: z.number() }),
  results: z.array(z.object({ agent: z.string(), status: resultStatus, reply: z.string().optional(), tokens, ms: z.number(), error: z.string().optional() })),
  still_working: z.array(z.string()).optional(),
  consensus: z
    .object({
      answers: z.array(z.object({ answer: z.number(), agent: z.string(), reply: z.string() })),
      votes: z.array(
        z.object({ agent: z.string(), vote: z.number().nullable(), status: resultStatus, reason: z.string().optional(), error: z.string().optional() }),
      ),
      tally: z.array(z.object({ answer: z.number(), agent: z.string(), votes: z.number() })),
      winner: z.object({ answer: z.number(), agent: z.string(), reply: z.string() }).optional(),
      tie: z.boolean(),
      agreement: z.number().describe('Votes for the winning (or each tied) answer ÷ valid votes cast.'),
    })
    .optional(),
  cancelled: z.literal(true).optional(),
  interrupted: z.array(z.string()).optional(),
  summary: z.string().optional(),
};

export const runId = z
  .string()
  .regex(/^r-[0-9a-z]{4,32}$/, 'a run id such as "r-1a2b3c4d"')
  .describe('The run id coordinate_agents returned.');
