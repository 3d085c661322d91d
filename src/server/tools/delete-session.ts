import { z } from 'zod';
import { confirmIfNeeded } from '../confirm.js';
import { confirm, run, sessionRef, type RegisterTool } from '../tool-kit.js';
import { route } from '../routing.js';

export const registerDeleteSession: RegisterTool = (server, deps) => {
  server.registerTool(
    'delete_session',
    {
      title: 'Delete session',
      description: 'Delete every agent of the session (each asked to exit, its tab closed), then the session. Transcripts stay on disk.',
      inputSchema: { session: sessionRef, confirm },
      outputSchema: { session_id: z.string(), deleted: z.literal(true), agents_deleted: z.array(z.string()) },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
      ...route({ targets: { session: 'session' }, untargeted: 'here', waits: true, sessions: { deletes: 'session' } }),
    },
    async (params) =>
      run(
        'delete_session',
        deps,
        async () => {
          const { session, confirm } = params;
          const s = await deps.supervisor.sessionNames(session);
          await confirmIfNeeded(server, deps, { tool: 'delete_session', target: s.name, accepted: [s.name, s.id], confirm });
          return deps.supervisor.deleteSession(session);
        },
        params,
      ),
  );
};
