import { runOutputSchema } from '../../server/coordination-schema.js';
import { inputOf, READS, relay, type RegisterAgentTool } from '../tool-kit.js';

export const registerGetCoordination: RegisterAgentTool = (server, deps) => {
  server.registerTool(
    'get_coordination',
    {
      title: 'Read a coordination run',
      description: 'Progress and replies of a run you started with coordinate_agents: state, the replies so far, who is still working, votes for consensus.',
      inputSchema: inputOf('get_coordination'),
      outputSchema: runOutputSchema,
      annotations: READS,
    },
    (args) => relay(deps, 'get_coordination', args),
  );
};
