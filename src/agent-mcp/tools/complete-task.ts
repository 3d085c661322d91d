import { z } from 'zod';
import { inputOf, relay, WRITES, type RegisterAgentTool } from '../tool-kit.js';

export const registerCompleteTask: RegisterAgentTool = (server, deps) => {
  server.registerTool(
    'complete_task',
    {
      title: 'Complete a TODO.md item',
      description: 'Tick an item you claimed in the session TODO.md, optionally with a one-line note under it.',
      inputSchema: inputOf('complete_task'),
      outputSchema: { completed: z.literal(true), task: z.string(), number: z.number() },
      annotations: { ...WRITES, idempotentHint: true },
    },
    (args) => relay(deps, 'complete_task', args),
  );
};
