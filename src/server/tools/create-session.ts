import { z } from 'zod';
import { run, type RegisterTool } from '../tool-kit.js';
import { route } from '../routing.js';

export const registerCreateSession: RegisterTool = (server, deps) => {
  server.registerTool(
    'create_session',
    {
      title: 'Create session',
      description:
        "Start a session tied to one root directory (a codebase). Agents created in it work in that directory. A root equal to, inside or containing another session's root is refused.",
      inputSchema: {
        root: z.string().min(1).max(4096).describe("Absolute path of an existing directory (a leading ~/ is the server's HOME); resolved with realpath."),
        name: z.string().min(1).max(64).optional().describe('Display name; defaults to the directory name.'),
      },
      outputSchema: { session_id: z.string(), name: z.string(), root: z.string() },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
      ...route({ targets: {}, untargeted: 'here', sessions: { creates: 'name' } }),
    },
    async (params) => run('create_session', deps, () => deps.supervisor.createSession(params), params),
  );
};
