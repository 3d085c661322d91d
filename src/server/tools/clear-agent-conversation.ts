import { z } from 'zod';
import { agentRef, run, type RegisterTool } from '../tool-kit.js';
import { route } from '../routing.js';

export const registerClearAgentConversation: RegisterTool = (server, deps) => {
  server.registerTool(
    'clear_agent_conversation',
    {
      title: 'Clear agent conversation',
      description:
        'End the agent\'s Claude Code process and close its tab; the agent stays listed as "cleared". Start it again with start_new_agent_conversation.',
      inputSchema: { agent: agentRef },
      outputSchema: { agent: z.string(), status: z.literal('cleared'), transcript_path: z.string().optional() },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
      ...route({ targets: { agent: 'agent' }, untargeted: 'here', waits: true }),
    },
    async (params) => run('clear_agent_conversation', deps, () => deps.supervisor.clearAgentConversation(params.agent), params),
  );
};
