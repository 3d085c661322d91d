import { z } from 'zod';
import { confirmIfNeeded } from '../confirm.js';
import { confirm, run, type RegisterTool } from '../tool-kit.js';
import { route } from '../routing.js';

export const registerDecidePermission: RegisterTool = (server, deps) => {
  server.registerTool(
    'decide_permission',
    {
      title: 'Answer a permission request',
      description:
        "Allows or denies a tool call an agent is asking permission for (request_id from list_pending_permissions). The answer closes the agent's dialog; a deny's reason reaches the agent. A request is decided once: a second decision is refused.",
      inputSchema: {
        request_id: z.string().min(1).max(100).describe('The id from list_pending_permissions, e.g. "p-3f9a0c1d2e4b5a6f".'),
        decision: z.enum(['allow', 'deny']),
        reason: z.string().max(500).optional().describe('Why (for deny, the agent is told).'),
        confirm,
      },
      outputSchema: {
        request_id: z.string(),
        agent: z.string(),
        tool: z.string(),
        kind: z.enum(['permission', 'question', 'plan']).describe("What was answered: a plan's allow approves it, its deny rejects it."),
        decision: z.enum(['allow', 'deny']),
        taken: z.boolean().describe("Whether the agent's hook took the answer within 5 s."),
      },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
      ...route({ targets: { request_id: 'request' }, untargeted: 'here' }),
    },
    async (params) =>
      run(
        'decide_permission',
        deps,
        async () => {
          const { request_id, decision, reason } = params;
          if (decision === 'allow') {
            // Refused before asking the person when there is nothing to allow.
            const pending = await deps.supervisor.pendingPermission(request_id);
            await confirmIfNeeded(server, deps, {
              tool: 'decide_permission',
              // The whole summary: what the person allows is what they are shown.
              target: `${pending.agent} ${pending.tool}: ${pending.input_summary} (${request_id})`,
              accepted: [request_id],
              confirm: params.confirm,
            });
          }
          const by = deps.clientName?.() ?? 'MCP client';
          return { ...(await deps.supervisor.decidePermission({ request_id, decision, reason, by })) };
        },
        params,
      ),
  );
};
