import { z } from 'zod';
import { MESSAGE_KINDS, RECIPIENT_STATES } from '../../store/message-types.js';
import { agentRef, run, sessionRef, type RegisterTool } from '../tool-kit.js';
import { route } from '../routing.js';

export const registerListMessages: RegisterTool = (server, deps) => {
  server.registerTool(
    'list_messages',
    {
      title: 'List agent messages',
      description:
        "Messages agents of a session sent each other (until they expire): sender (verified), recipients and each one's delivery state, kind, size and SHA-256. No text: a person reads one with `tabcrew messages show ID`.",
      inputSchema: {
        session: sessionRef,
        agent: agentRef.optional().describe('Only messages from or to this agent.'),
        since: z.string().max(40).optional().describe('Only messages sent at or after this ISO time.'),
      },
      outputSchema: {
        session_id: z.string(),
        messages: z.array(
          z.object({
            message_id: z.string(),
            session_id: z.string(),
            from: z.string(),
            to: z.array(z.string()),
            broadcast: z.boolean(),
            kind: z.enum(MESSAGE_KINDS),
            reply_to: z.string().optional(),
            bytes: z.number(),
            sha256: z.string(),
            sent_at: z.string(),
            expires_at: z.string(),
            recipients: z.array(z.object({ agent: z.string(), state: z.enum(RECIPIENT_STATES), at: z.string(), outcome: z.string().optional() })),
          }),
        ),
      },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      ...route({ targets: { session: 'session', agent: 'agent' }, untargeted: 'crew' }),
    },
    async (args) => run('list_messages', deps, async () => ({ ...(await deps.supervisor.listMessages(args)) }), args),
  );
};
