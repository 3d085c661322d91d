import { z } from 'zod';
import { run, sessionRef, type RegisterTool } from '../tool-kit.js';
import { route } from '../routing.js';

export const pendingPermission = z.object({
  request_id: z.string(),
  kind: z.literal('permission').optional().describe('Always "permission" here; list_pending_requests also has questions and plans.'),
  agent: z.string(),
  session_id: z.string(),
  tool: z.string(),
  input_summary: z.string().describe('The command, file or input of the call: literal secrets redacted, code always shown; a long one cut, saying so.'),
  since: z.string(),
});

export const registerListPendingPermissions: RegisterTool = (server, deps) => {
  server.registerTool(
    'list_pending_permissions',
    {
      title: 'List pending permission requests',
      description:
        "Permission dialogs agents are showing right now (Claude Code asked before running a tool), oldest first. Answer one with decide_permission; the person at the agent's tab can answer it there too.",
      inputSchema: { session: sessionRef.optional() },
      outputSchema: { requests: z.array(pendingPermission) },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      ...route({ targets: { session: 'session' }, untargeted: 'crew' }),
    },
    async (args) => run('list_pending_permissions', deps, async () => ({ requests: await deps.supervisor.listPendingPermissions(args.session) }), args),
  );
};
