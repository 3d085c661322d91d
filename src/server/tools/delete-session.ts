import { z } from 'zod';
import { run, sessionRef, type RegisterTool } from '../tool-kit.js';

export const registerDeleteSession: RegisterTool = (server, deps) => {
  server.registerTool(
    'delete_session',
    {
      title: 'Delete session',
      description: 'Delete every agent of the session (each asked to exit, its tab closed), then the session. Transcripts stay on disk.',
      inputSchema: { session: sessionRef },
      outputSchema: { session_id: z.string(), deleted: z.literal(true), agents_deleted: z.array(z.string()) },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
    },
    async ({ session }) => run('delete_session', deps, () => deps.supervisor.deleteSession(session)),
  );
};
