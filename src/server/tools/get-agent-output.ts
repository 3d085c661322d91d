import { z } from 'zod';
import { agentRef, note, run, type RegisterTool } from '../tool-kit.js';
import { route } from '../routing.js';

export const registerGetAgentOutput: RegisterTool = (server, deps) => {
  server.registerTool(
    'get_agent_output',
    {
      title: 'Agent output',
      description: "The last lines of content of an agent's terminal (plain text; a run of blank lines counts as one) and its last reply from the transcript.",
      inputSchema: { agent: agentRef, lines: z.number().int().min(1).max(5000).default(100) },
      outputSchema: { agent: z.string(), screen: z.string(), last_reply: z.string().optional(), note },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      ...route({ targets: { agent: 'agent' }, untargeted: 'here' }),
    },
    async (params) => run('get_agent_output', deps, () => deps.supervisor.getAgentOutput(params.agent, params.lines), params),
  );
};
