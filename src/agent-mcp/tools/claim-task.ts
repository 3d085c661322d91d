import { z } from 'zod';
import { inputOf, relay, WRITES, type RegisterAgentTool } from '../tool-kit.js';

export const registerClaimTask: RegisterAgentTool = (server, deps) => {
  server.registerTool(
    'claim_task',
    {
      title: 'Claim a TODO.md item',
      description:
        'Claim an open item of the session TODO.md (your name is added to it) before you work on it. Atomic: when two agents claim one item, one gets it and the other is refused.',
      inputSchema: inputOf('claim_task'),
      outputSchema: { claimed: z.literal(true), task: z.string(), number: z.number(), note: z.string().optional() },
      annotations: WRITES,
    },
    (args) => relay(deps, 'claim_task', args),
  );
};
