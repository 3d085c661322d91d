import { z } from 'zod';
import { inputOf, relay, WRITES, type RegisterAgentTool } from '../tool-kit.js';

export const registerCheckMessages: RegisterAgentTool = (server, deps) => {
  server.registerTool(
    'check_messages',
    {
      title: 'Check my messages',
      description:
        'Your messages that have not reached your prompt yet (queued while you work), marked read: each is returned once, and is then not typed into your prompt.',
      inputSchema: inputOf('check_messages'),
      outputSchema: {
        messages: z.array(
          z.object({ message_id: z.string(), from: z.string(), kind: z.string(), reply_to: z.string().optional(), sent_at: z.string(), text: z.string() }),
        ),
      },
      annotations: WRITES,
    },
    (args) => relay(deps, 'check_messages', args),
  );
};
