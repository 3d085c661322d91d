import { z } from 'zod';
import { ORPHAN_KINDS, RECOVERY_ACTIONS } from '../../supervisor/recovery.js';
import { agentStatus, progressOf, run, sessionRef, type RegisterTool } from '../tool-kit.js';
import { route } from '../routing.js';

export const registerRecoverSession: RegisterTool = (server, deps) => {
  server.registerTool(
    'recover_session',
    {
      title: 'Recover agents',
      description:
        "Bring agents back after a restart of tabcrew, the terminal app or the machine: a live tab is adopted; a tab that is gone is reopened in the agent's root with `claude --resume <id>` so the conversation continues; a gone root or a refused resume is reported as failed; tagged tabs no agent owns, and a second live tab running an agent's conversation, are listed as orphans with what to do, and closed only with close_orphans. An agent another tabcrew process is launching right now is skipped. tabcrew also does this when it starts.",
      inputSchema: {
        session: sessionRef.optional().describe('Only this session (id or name); all sessions when omitted.'),
        dry_run: z.boolean().default(false).describe('Report what would be done, change nothing.'),
        close_orphans: z.boolean().default(false).describe('Also close the orphan tabs found.'),
      },
      outputSchema: {
        recovered: z.array(
          z.object({
            agent: z.string(),
            claude_session_id: z.string(),
            status: agentStatus,
            action: z.enum(RECOVERY_ACTIONS),
          }),
        ),
        adopted: z.array(z.string()),
        failed: z.array(z.object({ agent: z.string(), reason: z.string() })),
        orphans: z.array(z.object({ tab: z.string(), tag: z.string(), title: z.string(), why: z.enum(ORPHAN_KINDS), fix: z.string() })),
        closed_orphans: z.array(z.string()).optional(),
        skipped: z.array(z.object({ agent: z.string(), reason: z.string() })).optional(),
        dry_run: z.boolean().optional(),
      },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
      ...route({ targets: { session: 'session' }, untargeted: 'here', waits: true }),
    },
    async (input, extra) => run('recover_session', deps, async () => ({ ...(await deps.supervisor.recover(input, progressOf(extra))) }), input),
  );
};
