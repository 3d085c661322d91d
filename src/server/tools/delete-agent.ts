import { z } from 'zod';
import { askToCascade, confirmIfNeeded } from '../confirm.js';
import { agentRef, confirm, run, type RegisterTool } from '../tool-kit.js';
import { route } from '../routing.js';

export const registerDeleteAgent: RegisterTool = (server, deps) => {
  server.registerTool(
    'delete_agent',
    {
      title: 'Delete agent',
      description:
        "Ask the agent's Claude Code to exit, close its tab and forget the agent. Its transcript stays on disk. An agent that spawned helpers is deleted with them when cascade is true; without it, a client that supports elicitation is asked, any other is refused. An agent with its own git worktree has it removed (refused while it holds uncommitted files, unless force: true); its branch stays unless delete_branch: true.",
      inputSchema: {
        agent: agentRef,
        cascade: z
          .boolean()
          .default(false)
          .describe('Also delete the helpers it spawned (without it the person is asked through elicitation, or the call is refused).'),
        confirm,
        force: z.boolean().optional().describe("Remove the agent's worktree even with uncommitted files (they are lost)."),
        delete_branch: z.boolean().optional().describe("Also delete the agent's branch tabcrew/<agent>."),
      },
      outputSchema: {
        agent: z.string(),
        deleted: z.literal(true),
        transcript_path: z.string().optional(),
        children_deleted: z.array(z.string()).optional(),
        worktree: z.object({ removed: z.boolean(), branch_deleted: z.boolean(), kept_dirty: z.literal(true).optional() }).optional(),
      },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
      ...route({ targets: { agent: 'agent' }, untargeted: 'here', waits: true }),
    },
    async (params) =>
      run(
        'delete_agent',
        deps,
        async () => {
          const { agent, confirm, cascade, force, delete_branch } = params;
          await confirmIfNeeded(server, deps, { tool: 'delete_agent', target: agent, accepted: [agent], confirm });
          const withHelpers = cascade || (await askToCascade(server, deps, agent, await deps.supervisor.helpersOf(agent)));
          return deps.supervisor.deleteAgent(agent, { cascade: withHelpers, force, delete_branch });
        },
        params,
      ),
  );
};
