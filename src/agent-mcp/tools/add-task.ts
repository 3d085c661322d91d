import { z } from 'zod';
import { inputOf, relay, WRITES, type RegisterAgentTool } from '../tool-kit.js';

export const registerAddTask: RegisterAgentTool = (server, deps) => {
  server.registerTool(
    'add_task',
    {
      title: 'Add a TODO.md item',
      description: 'Add an open item to the session TODO.md (created if missing), for work you found but should not do unasked.',
      inputSchema: inputOf('add_task'),
      outputSchema: { added: z.literal(true), task: z.string(), number: z.number() },
      annotations: WRITES,
    },
    (args) => relay(deps, 'add_task', args),
  );
};
