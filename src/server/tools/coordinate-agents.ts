import { z } from 'zod';
import { MODEL_NAME, MODEL_NAME_HINT, MAX_ROLE_CHARS } from '../../claude/launch-options.js';
import { RUN_MODES } from '../../store/runs.js';
import type { Progress } from '../../supervisor/context.js';
import { confirm, agentRef, run, sessionRef, type Extra, type RegisterTool } from '../tool-kit.js';
import { runOutputSchema } from '../coordination-schema.js';
import { confirmIfNeeded } from '../confirm.js';
import { route } from '../routing.js';

/** Every settled agent is worth a progress notification of its own: not throttled like a wait's heartbeat. */
function everyProgress(extra: Extra): Progress | undefined {
  const token = extra._meta?.progressToken;
  if (token === undefined) return undefined;
  return (p) => void extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, ...p } }).catch(() => undefined);
}

export const registerCoordinateAgents: RegisterTool = (server, deps) => {
  server.registerTool(
    'coordinate_agents',
    {
      title: 'Coordinate agents',
      description:
        'Give one task to several agents of a session and collect their replies. parallel: every agent at once (or one task each with per_agent_tasks); results as each finishes, with progress per agent. sequential: a pipeline, each agent gets the task plus the previous reply; stops at the first failure. consensus: every agent answers, then votes on the anonymised answers (`VOTE: <n>`); returns votes, winner, agreement, or a tie. Agents are named (agents) and/or started for the run (spawn). The run is durable: with wait false it returns at once; get_coordination reads it, cancel_coordination stops it, and it survives a restart of tabcrew.',
      inputSchema: {
        session: sessionRef,
        mode: z.enum(RUN_MODES),
        task: z
          .string()
          .max(100 * 1024)
          .describe('What every agent is asked (at most 100 KB).'),
        agents: z.array(agentRef).max(64).optional().describe('Existing agents of the session, in order (the pipeline order for sequential).'),
        spawn: z
          .object({
            count: z.number().int().min(1).max(64),
            role: z.string().max(MAX_ROLE_CHARS).optional().describe('A role id from list_roles, or free text.'),
            model: z.string().regex(MODEL_NAME, MODEL_NAME_HINT).optional(),
          })
          .optional()
          .describe('New agents for this run, after the listed ones.'),
        per_agent_tasks: z
          .array(z.string().max(100 * 1024))
          .max(128)
          .optional()
          .describe('parallel/sequential: one task per agent (listed, then spawned), instead of task.'),
        timeout_s: z
          .number()
          .int()
          .min(1)
          .max(86_400)
          .default(600)
          .describe('How long the run waits for replies; then it ends partial, naming who is still working.'),
        remove_spawned: z.boolean().default(false).describe('Delete the spawned agents when the run ends.'),
        wait: z.boolean().default(true).describe('false: return the run id at once; read it with get_coordination.'),
        confirm,
      },
      outputSchema: runOutputSchema,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
      ...route({ targets: { session: 'session', agents: 'agent' }, untargeted: 'here', waits: true }),
    },
    async ({ confirm, ...params }, extra) =>
      run(
        'coordinate_agents',
        deps,
        async () => {
          // Spawning is creating agents: at HIGH it is confirmed as create_agent is.
          if (params.spawn) {
            const s = await deps.supervisor.sessionNames(params.session);
            await confirmIfNeeded(server, deps, { tool: 'create_agent', target: s.name, accepted: [s.name, s.id], confirm });
          }
          return { ...(await deps.supervisor.coordinate(params, { progress: everyProgress(extra) })) };
        },
        params,
      ),
  );
};
