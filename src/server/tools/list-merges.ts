import { z } from 'zod';
import { route } from '../routing.js';
import { run, sessionRef, type RegisterTool } from '../tool-kit.js';
import { mergeEntry } from '../review-schemas.js';

export const registerListMerges: RegisterTool = (server, deps) => {
  server.registerTool(
    'list_merges',
    {
      title: 'Merges of a session',
      description:
        "The session's merge queue, kept in tabcrew's state (a restart keeps it; the newest 50 finished per session): each merge_agent_work call queued, running, done, refused, failed, or interrupted (its tabcrew stopped in the middle; the base was checked and, if it had moved without the root's checkout, put back — the reason says which), with the base branch before and after, the new commit, or the conflicting paths and the reason.",
      inputSchema: { session: sessionRef },
      outputSchema: { session_id: z.string(), merges: z.array(mergeEntry) },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      ...route({ targets: { session: 'session' }, untargeted: 'here' }),
    },
    async (params) => run('list_merges', deps, async () => ({ ...(await deps.supervisor.review.listMerges(params.session)) }), params),
  );
};
