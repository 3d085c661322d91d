import { z } from 'zod';
import { run, type RegisterTool } from '../tool-kit.js';
import { runId, runOutputSchema } from '../coordination-schema.js';
import { route } from '../routing.js';

export const registerCancelCoordination: RegisterTool = (server, deps) => {
  server.registerTool(
    'cancel_coordination',
    {
      title: 'Cancel coordination run',
      description:
        'Stop waiting for a coordinate_agents run: it ends partial (or failed) with what it collected. The agents keep working unless interrupt is true; then each agent whose screen shows a running turn gets one Escape (never a key into a dialog).',
      inputSchema: { run_id: runId, interrupt: z.boolean().default(false).describe("Interrupt the agents' running turns.") },
      outputSchema: runOutputSchema,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      ...route({ targets: { run_id: 'run' }, untargeted: 'here' }),
    },
    async (params) =>
      run('cancel_coordination', deps, async () => ({ ...(await deps.supervisor.cancelCoordination(params.run_id, { interrupt: params.interrupt })) }), params),
  );
};
