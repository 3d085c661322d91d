import { z } from 'zod';
import { agentRef, run, type RegisterTool } from '../tool-kit.js';

export const registerDeleteAgent: RegisterTool = (server, deps) => {
  server.registerTool(
    'delete_agent',
    {
      title: 'Delete agent',
      description: 'Ask the agent\'s Claude Code to exit, close its tab and forget the agent. Its transcript stays on disk.',
      inputSchema: { agent: agentRef },
      outputSchema: { agent: z.string(), deleted: z.literal(true), transcript_path: z.string().optional() },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
    },
    async ({ agent }) => run('delete_agent', deps, () => deps.supervisor.deleteAgent(agent)),
  );
};
