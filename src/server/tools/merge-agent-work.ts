import { z } from 'zod';
import { route } from '../routing.js';
import { confirmIfNeeded } from '../confirm.js';
import { agentRef, confirm, run, type RegisterTool } from '../tool-kit.js';
import { mergeOutcomeShape } from '../review-schemas.js';

export const registerMergeAgentWork: RegisterTool = (server, deps) => {
  server.registerTool(
    'merge_agent_work',
    {
      title: 'Merge agent work',
      description:
        "Merge a worktree agent's branch into the session's base branch (the branch the root had checked out when the agent was created). Merges of one session run one after another. Refused, with nothing changed, when: the agent has no worktree, no commits to merge, or its branch is gone; its worktree holds uncommitted files (unless commit_uncommitted); the root has the base checked out with uncommitted changes; the branches conflict (the paths are named; on_conflict: \"ask_agent\" also asks the agent to merge the base and resolve); the server's --merge-check fails on the merged tree. dry_run: true reports what would happen. On success the base moves (and the root's checkout with it when it is on that branch) and other worktree agents now behind are told.",
      inputSchema: {
        agent: agentRef,
        strategy: z.enum(['merge', 'squash']).optional().describe('merge (default): a merge commit with both parents; squash: one commit on the base.'),
        message: z.string().min(1).max(2000).optional().describe('The commit message (also used for commit_uncommitted).'),
        commit_uncommitted: z.boolean().optional().describe('Commit the files left uncommitted in the worktree first, as "Agent_N: …".'),
        dry_run: z.boolean().optional().describe('Check everything, change nothing.'),
        on_conflict: z.enum(['refuse', 'ask_agent']).optional().describe('ask_agent: also send the agent a message naming the base commit and the files.'),
        confirm,
      },
      outputSchema: mergeOutcomeShape,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
      // A --merge-check can take minutes: the node gets long to answer.
      ...route({ targets: { agent: 'agent' }, untargeted: 'here', waits: true }),
    },
    async (params) =>
      run(
        'merge_agent_work',
        deps,
        async () => {
          const { confirm, ...input } = params;
          if (!input.dry_run) await confirmIfNeeded(server, deps, { tool: 'merge_agent_work', target: input.agent, accepted: [input.agent], confirm });
          return { ...(await deps.supervisor.review.merge(input.agent, input)) };
        },
        params,
      ),
  );
};
