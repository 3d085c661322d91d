import { runOutputSchema } from '../../server/coordination-schema.js';
import { inputOf, relay, WRITES, type RegisterAgentTool } from '../tool-kit.js';

export const registerCoordinateAgents: RegisterAgentTool = (server, deps) => {
  server.registerTool(
    'coordinate_agents',
    {
      title: 'Give one task to several agents',
      description:
        'Ask agents of your session (not yourself), and/or new helpers of yours (spawn), one task: parallel (everyone at once), sequential (a pipeline: each gets the task plus the previous reply) or consensus (everyone answers, then votes). Returns at once with a run_id and state "running"; read the replies with get_coordination (call it again until state is done, partial or failed).',
      inputSchema: inputOf('coordinate_agents'),
      outputSchema: runOutputSchema,
      annotations: WRITES,
    },
    (args) => relay(deps, 'coordinate_agents', args),
  );
};
