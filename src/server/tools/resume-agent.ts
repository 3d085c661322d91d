import { z } from 'zod';
import { LIMIT_NAMES } from '../../store/types.js';
import { agentRef, agentStatus, run, type RegisterTool } from '../tool-kit.js';
import { route } from '../routing.js';

export const registerResumeAgent: RegisterTool = (server, deps) => {
  server.registerTool(
    'resume_agent',
    {
      title: 'Resume a paused agent',
      description:
        "Lift the budget or timeout that paused an agent, so it takes messages again. raise_to sets the limit that was reached to a new value (USD for max_cost_usd and the crew-wide max_total_cost, tokens for max_tokens, minutes since creation for timeout_minutes); without it the agent's own limit is lifted. The crew-wide limit can only be raised.",
      inputSchema: {
        agent: agentRef,
        raise_to: z.number().positive().max(1e12).optional().describe('The new value of the limit that paused the agent; must be above what it has used.'),
      },
      outputSchema: {
        agent: z.string(),
        status: agentStatus,
        limit: z.enum(LIMIT_NAMES).describe('The limit that had paused it.'),
        raised_to: z.number().nullable().describe('Its new value; null when it was lifted.'),
      },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
      ...route({ targets: { agent: 'agent' }, untargeted: 'here' }),
    },
    async (params) => run('resume_agent', deps, async () => ({ ...(await deps.supervisor.resumeAgent(params.agent, params.raise_to)) }), params),
  );
};
