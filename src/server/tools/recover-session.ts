import { z } from 'zod';
import { agentStatus, progressOf, run, sessionRef, type RegisterTool } from '../tool-kit.js';

export const registerRecoverSession: RegisterTool = (server, deps) => {
  server.registerTool(
    'recover_session',
    {
      title: 'Recover agents',
      description:
        'Bring agents back after a restart of tabcrew, the terminal app or the machine: a live tab is adopted; a tab that is gone is reopened in the agent\'s root with `claude --resume <id>` so the conversation continues; a gone root or a refused resume is reported as failed; tagged tabs no agent owns are listed as orphans and left alone. tabcrew also does this when it starts.',
      inputSchema: {
        session: sessionRef.optional().describe('Only this session (id or name); all sessions when omitted.'),
        dry_run: z.boolean().default(false).describe('Report what would be done, change nothing.'),
      },
      outputSchema: {
        recovered: z.array(
          z.object({
            agent: z.string(),
            claude_session_id: z.string(),
            status: agentStatus,
            action: z.enum(['resumed', 'restarted', 'would_resume']),
          }),
        ),
        adopted: z.array(z.string()),
        failed: z.array(z.object({ agent: z.string(), reason: z.string() })),
        orphans: z.array(z.object({ tab: z.string(), tag: z.string(), title: z.string() })),
        dry_run: z.boolean().optional(),
      },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    },
    async (input, extra) => run('recover_session', deps, async () => ({ ...(await deps.supervisor.recover(input, progressOf(extra))) }), input),
  );
};
