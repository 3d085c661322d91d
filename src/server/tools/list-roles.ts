import { z } from 'zod';
import { run, type RegisterTool } from '../tool-kit.js';
import { route } from '../routing.js';

export const registerListRoles: RegisterTool = (server, deps) => {
  server.registerTool(
    'list_roles',
    {
      title: 'List roles',
      description:
        "The roles create_agent (and coordinate_agents spawn) accept by id: the ten built in, plus those of --roles-file. Each role's guidance goes into the agent's ADDER+ prompt, and its permissions (Claude Code allow/deny rules; read_only: no file edits or writing Bash, and a read-only root in the OS sandbox) into the agent's settings. Any other role text is kept as a custom role, without permissions.",
      inputSchema: {},
      outputSchema: {
        roles: z.array(
          z.object({
            id: z.string(),
            title: z.string(),
            guidance: z.string(),
            permissions: z.object({ read_only: z.boolean(), allow: z.array(z.string()), deny: z.array(z.string()) }),
          }),
        ),
      },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      ...route({ targets: {}, untargeted: 'crew' }),
    },
    async () => run('list_roles', deps, async () => deps.supervisor.listRoles()),
  );
};
