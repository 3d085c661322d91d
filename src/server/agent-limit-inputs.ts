import { z } from 'zod';

/** create_agent's budget and time limits (docs/long-running.md); the supervisor stores them on the agent. */
export const agentLimitInputs = {
  max_cost_usd: z.number().positive().max(1e6).optional().describe('Pause the agent once its cost reaches this many USD (after its current turn).'),
  max_tokens: z.number().int().positive().max(1e12).optional().describe('Pause the agent once its tokens (input, output, cache) reach this.'),
  timeout_minutes: z.number().positive().max(525_600).optional().describe('Pause the agent this many minutes after its creation.'),
  interrupt: z.boolean().optional().describe('When a limit is reached mid-turn, press Escape once (never in a dialog) instead of letting the turn finish.'),
};
