import { runOutputSchema } from '../../server/coordination-schema.js';
import { inputOf, relay, WRITES, type RegisterAgentTool } from '../tool-kit.js';

export const registerCancelCoordination: RegisterAgentTool = (server, deps) => {
  server.registerTool(
    'cancel_coordination',
    {
      title: 'Stop a coordination run',
      description: 'Stop waiting for a run you started; the agents keep working unless interrupt is true (one Escape to an agent in a running turn).',
      inputSchema: inputOf('cancel_coordination'),
      outputSchema: runOutputSchema,
      annotations: WRITES,
    },
    (args) => relay(deps, 'cancel_coordination', args),
  );
};
