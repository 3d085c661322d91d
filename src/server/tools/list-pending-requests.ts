import { z } from 'zod';
import { REQUEST_KINDS } from '../../claude/request-kinds.js';
import { run, sessionRef, type RegisterTool } from '../tool-kit.js';
import { route } from '../routing.js';
import { pendingPermission } from './list-pending-permissions.js';

export const pendingRequest = pendingPermission.extend({
  kind: z
    .enum(REQUEST_KINDS)
    .describe('permission: may a tool run; question: the agent asks (AskUserQuestion); plan: the agent waits for its plan to be approved (ExitPlanMode).'),
  questions: z
    .array(
      z.object({
        question: z.string(),
        header: z.string().optional(),
        options: z.array(z.object({ label: z.string(), description: z.string().optional() })),
        multi_select: z.boolean(),
      }),
    )
    .optional()
    .describe('A question: each question with its options (choose one by its label or number, 1 = the first), redacted.'),
  plan: z.string().optional().describe('A plan: its text (Markdown, redacted), to read before approving it.'),
});

export const registerListPendingRequests: RegisterTool = (server, deps) => {
  server.registerTool(
    'list_pending_requests',
    {
      title: 'List what agents are waiting for a person to answer',
      description:
        "Everything agents wait on a person for right now, oldest first: permission dialogs, questions (with their options) and plans to approve (with their text). Answer one with answer_request; the person at the agent's tab can answer it there too, and the first answer counts.",
      inputSchema: { session: sessionRef.optional(), kind: z.enum(REQUEST_KINDS).optional().describe('Only requests of this kind.') },
      outputSchema: { requests: z.array(pendingRequest) },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      ...route({ targets: { session: 'session' }, untargeted: 'crew' }),
    },
    async (args) => run('list_pending_requests', deps, async () => ({ requests: await deps.supervisor.listPendingRequests(args.session, args.kind) }), args),
  );
};
