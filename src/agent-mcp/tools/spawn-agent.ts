import { z } from 'zod';
import { inputOf, relay, WRITES, type RegisterAgentTool } from '../tool-kit.js';

export const registerSpawnAgent: RegisterAgentTool = (server, deps) => {
  server.registerTool(
    'spawn_agent',
    {
      title: 'Start a helper agent',
      description:
        'Start a new agent in your session as your helper (you are recorded as its parent), optionally with a role and a first task; returns once it is ready. Limited by tabcrew: --max-children helpers each, --max-depth levels of helpers of helpers, --max-agents in all; a refusal names the limit. Hand it work with send_message or coordinate_agents.',
      inputSchema: inputOf('spawn_agent'),
      outputSchema: {
        agent: z.string(),
        session_id: z.string(),
        status: z.string(),
        claude_session_id: z.string(),
        backend: z.string(),
        parent: z.string().optional(),
        note: z.string().optional(),
        trust: z.string().optional(),
      },
      annotations: WRITES,
    },
    (args) => relay(deps, 'spawn_agent', args),
  );
};
