import { z } from 'zod';
import { run, type RegisterTool } from '../tool-kit.js';
import { route } from '../routing.js';

export const registerListSessions: RegisterTool = (server, deps) => {
  server.registerTool(
    'list_sessions',
    {
      title: 'List sessions',
      description: 'Every session with its root and the names of its agents.',
      inputSchema: {},
      outputSchema: {
        sessions: z.array(z.object({ session_id: z.string(), name: z.string(), root: z.string(), agents: z.array(z.string()) })),
      },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      ...route({ targets: {}, untargeted: 'crew', sessions: 'lists' }),
    },
    async () => run('list_sessions', deps, () => deps.supervisor.listSessions()),
  );
};
