import { z } from 'zod';
import { STATUS_SOURCES } from '../../store/types.js';
import { agentStatus, run, sessionRef, type RegisterTool } from '../tool-kit.js';

const tokens = z.object({ input: z.number(), output: z.number(), cache_read: z.number(), cache_creation: z.number() });

export const registerGetSessionStatus: RegisterTool = (server, deps) => {
  server.registerTool(
    'get_session_status',
    {
      title: 'Session status',
      description:
        'Every agent of a session: status (from Claude Code hooks first, then the terminal, then the screen; status_source says which), tokens used, last reply, its TODO.md tasks; and the TODO.md totals.',
      inputSchema: { session: sessionRef },
      outputSchema: {
        session_id: z.string(),
        name: z.string(),
        root: z.string(),
        agents: z.array(
          z.object({
            agent: z.string(),
            status: agentStatus,
            status_source: z.enum(STATUS_SOURCES),
            since: z.string(),
            claude_session_id: z.string().nullable(),
            tokens,
            last_reply: z.string().optional(),
            tasks: z.object({ open: z.number(), done: z.number() }),
            role: z.object({ id: z.string().optional(), title: z.string(), custom: z.boolean() }).optional(),
            parent: z.string().optional().describe('The agent that spawned it.'),
            children: z.array(z.string()).optional().describe('The helpers it spawned.'),
          }),
        ),
        todo: z.object({ path: z.string(), open: z.number(), done: z.number() }).nullable(),
      },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    async (params) => run('get_session_status', deps, async () => ({ ...(await deps.supervisor.getSessionStatus(params.session)) }), params),
  );
};
