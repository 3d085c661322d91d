import { z } from 'zod';
import { inputOf, READS, relay, type RegisterAgentTool } from '../tool-kit.js';

export const registerListPeers: RegisterAgentTool = (server, deps) => {
  server.registerTool(
    'list_peers',
    {
      title: 'List my peers',
      description: 'The other agents of your session: status, role, the TODO.md items they claimed, and their last update_my_status.',
      inputSchema: inputOf('list_peers'),
      outputSchema: {
        session: z.string(),
        you: z.string(),
        peers: z.array(
          z.object({
            agent: z.string(),
            status: z.string(),
            role: z.string().nullable(),
            claimed_tasks: z.array(z.string()),
            last_status: z.object({ state: z.string(), note: z.string(), at: z.string() }).optional(),
          }),
        ),
      },
      annotations: READS,
    },
    (args) => relay(deps, 'list_peers', args),
  );
};
