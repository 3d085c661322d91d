import { run, type RegisterTool } from '../tool-kit.js';
import { runId, runOutputSchema } from '../coordination-schema.js';
import { route } from '../routing.js';

export const registerGetCoordination: RegisterTool = (server, deps) => {
  server.registerTool(
    'get_coordination',
    {
      title: 'Get coordination run',
      description: 'A coordinate_agents run: its state (running, done, partial, failed), progress, the replies collected so far and who is still working.',
      inputSchema: { run_id: runId },
      outputSchema: runOutputSchema,
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      ...route({ targets: { run_id: 'run' }, untargeted: 'here' }),
    },
    async (params) => run('get_coordination', deps, async () => ({ ...(await deps.supervisor.getCoordination(params.run_id)) }), params),
  );
};
