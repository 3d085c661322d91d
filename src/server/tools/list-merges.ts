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
        "The session's merge queue as this server saw it: each merge_agent_work call queued, running, done or refused, with the base branch before and after, the new commit, or the conflicting paths and the reason.",
      inputSchema: { session: sessionRef },
      outputSchema: { session_id: z.string(), merges: z.array(mergeEntry) },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      ...route({ targets: { session: 'session' }, untargeted: 'here' }),
    },
    async (params) => run('list_merges', deps, async () => ({ ...(await deps.supervisor.review.listMerges(params.session)) }), params),
  );
};
