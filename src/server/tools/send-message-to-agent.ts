import { z } from 'zod';
import { DELIVERY_OUTCOMES } from '../../supervisor/delivery.js';
import { agentRef, agentStatus, note, progressOf, run, type RegisterTool } from '../tool-kit.js';
import { route } from '../routing.js';

export const registerSendMessageToAgent: RegisterTool = (server, deps) => {
  server.registerTool(
    'send_message_to_agent',
    {
      title: 'Send message to agent',
      description:
        'Type a message into an agent\'s Claude Code prompt and submit it, once the agent is idle. While the crew\'s account is at an API usage limit it is refused with the reset time, unless queue: true. delivered is "confirmed" when Claude Code reported the prompt, "unknown" otherwise (never retyped: check get_agent_output). With wait_for_reply the agent\'s final reply for that turn is returned.',
      inputSchema: {
        agent: agentRef,
        message: z.string().describe('The text; newlines are kept, control characters neutralised. At most 100 KB.'),
        wait_for_reply: z.boolean().default(false),
        timeout_s: z.number().int().min(1).max(3600).default(600).describe('How long to wait for the reply.'),
        prepend_protocol: z.boolean().default(true).describe('Prefix the one-line ADDER+ header (sender, recipient, session).'),
        idle_wait_s: z.number().int().min(0).max(3600).default(60).describe('How long to wait for a busy agent to become idle.'),
        queue: z
          .boolean()
          .optional()
          .describe(
            "While the crew's account is at an API usage limit the message is refused with the reset time; queue: true queues it instead, and tabcrew delivers it after the reset (a paused agent gets it as its resume message).",
          ),
      },
      outputSchema: {
        agent: z.string(),
        delivery_id: z.string(),
        delivered: z
          .enum([...DELIVERY_OUTCOMES, 'queued'])
          .describe('queued: held until the usage limit resets (queue: true); delivery_id is then the queue id.'),
        resumes_at: z.string().optional().describe('When a queued message goes out: the reset of the usage limit.'),
        status: agentStatus,
        reply: z.string().optional(),
        note,
      },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
      ...route({ targets: { agent: 'agent' }, untargeted: 'here', waits: true }),
    },
    async (params, extra) => {
      const { agent, ...input } = params;
      return run('send_message_to_agent', deps, async () => ({ ...(await deps.supervisor.sendMessage(agent, input, progressOf(extra))) }), params);
    },
  );
};
