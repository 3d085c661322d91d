import { z } from 'zod';
import { inputOf, relay, WRITES, type RegisterAgentTool } from '../tool-kit.js';

export const registerUpdateMyStatus: RegisterAgentTool = (server, deps) => {
  server.registerTool(
    'update_my_status',
    {
      title: 'Update my status',
      description: 'Tell the supervisor and your peers where you are: working, waiting, blocked or done, with a one-line note (list_peers shows it).',
      inputSchema: inputOf('update_my_status'),
      outputSchema: { agent: z.string(), state: z.string(), note: z.string() },
      annotations: { ...WRITES, idempotentHint: true },
    },
    (args) => relay(deps, 'update_my_status', args),
  );
};
