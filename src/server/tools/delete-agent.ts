import { z } from 'zod';
import { confirmIfNeeded } from '../confirm.js';
import { agentRef, confirm, run, type RegisterTool } from '../tool-kit.js';

export const registerDeleteAgent: RegisterTool = (server, deps) => {
  server.registerTool(
    'delete_agent',
    {
      title: 'Delete agent',
      description:
        "Ask the agent's Claude Code to exit, close its tab and forget the agent. Its transcript stays on disk. An agent that spawned helpers is refused unless cascade is true, which deletes them too.",
      inputSchema: {
        agent: agentRef,
        cascade: z.boolean().default(false).describe('Also delete the helpers it spawned (an agent with helpers is refused without it).'),
        confirm,
      },
      outputSchema: { agent: z.string(), deleted: z.literal(true), transcript_path: z.string().optional(), children_deleted: z.array(z.string()).optional() },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
    },
    async (params) =>
      run(
        'delete_agent',
        deps,
        async () => {
          const { agent, confirm, cascade } = params;
          await confirmIfNeeded(server, deps, { tool: 'delete_agent', target: agent, accepted: [agent], confirm });
          return deps.supervisor.deleteAgent(agent, { cascade });
        },
        params,
      ),
  );
};
