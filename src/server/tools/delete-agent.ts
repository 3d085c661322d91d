import { z } from 'zod';
import { confirmIfNeeded } from '../confirm.js';
import { agentRef, confirm, run, type RegisterTool } from '../tool-kit.js';

export const registerDeleteAgent: RegisterTool = (server, deps) => {
  server.registerTool(
    'delete_agent',
    {
      title: 'Delete agent',
      description: "Ask the agent's Claude Code to exit, close its tab and forget the agent. Its transcript stays on disk.",
      inputSchema: { agent: agentRef, confirm },
      outputSchema: { agent: z.string(), deleted: z.literal(true), transcript_path: z.string().optional() },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
    },
    async (params) =>
      run(
        'delete_agent',
        deps,
        async () => {
          const { agent, confirm } = params;
          await confirmIfNeeded(server, deps, { tool: 'delete_agent', target: agent, accepted: [agent], confirm });
          return deps.supervisor.deleteAgent(agent);
        },
        params,
      ),
  );
};
