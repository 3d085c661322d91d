import { z } from 'zod';
import { route } from '../routing.js';
import { agentRef, run, type RegisterTool } from '../tool-kit.js';
import { agentChangesShape } from '../review-schemas.js';

export const registerGetAgentChanges: RegisterTool = (server, deps) => {
  server.registerTool(
    'get_agent_changes',
    {
      title: 'Agent changes',
      description:
        'What an agent changed. For a worktree agent: its branch against the point it left the session\'s base branch — commits ahead and behind, each file with status and +/- (committed or only in its working tree), the uncommitted paths. For an agent that shares the session root: the files its Write/Edit/MultiEdit/NotebookEdit calls wrote, with their diff against HEAD (attributed_by: "hooks"). patch: true adds the unified diff, cut at max_bytes (truncated: true).',
      inputSchema: {
        agent: agentRef,
        patch: z.boolean().optional().describe('Add the unified diff.'),
        path: z.string().min(1).max(4096).optional().describe('Only this file or folder, relative to the checkout, e.g. "src/app.ts".'),
        max_bytes: z.number().int().min(1024).max(4_194_304).optional().describe('Largest patch returned (default 262144).'),
      },
      outputSchema: agentChangesShape,
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      ...route({ targets: { agent: 'agent' }, untargeted: 'here' }),
    },
    async (params) => run('get_agent_changes', deps, async () => ({ ...(await deps.supervisor.review.changes(params.agent, params)) }), params),
  );
};
