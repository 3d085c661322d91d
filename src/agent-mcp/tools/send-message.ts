import { z } from 'zod';
import { inputOf, relay, WRITES, type RegisterAgentTool } from '../tool-kit.js';

export const registerSendMessage: RegisterAgentTool = (server, deps) => {
  server.registerTool(
    'send_message',
    {
      title: 'Send a message to another agent',
      description:
        'Send a message to an agent of your session (or "all" of them). tabcrew types it into an idle recipient\'s prompt now, or queues it until the recipient\'s turn ends; the header names you as the sender. delivered: "now" or "queued".',
      inputSchema: inputOf('send_message'),
      outputSchema: {
        message_id: z.string(),
        delivered: z.enum(['now', 'queued']),
        recipients: z.array(z.object({ agent: z.string(), delivered: z.enum(['now', 'queued']) })),
      },
      annotations: WRITES,
    },
    (args) => relay(deps, 'send_message', args),
  );
};
