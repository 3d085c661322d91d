import { z } from 'zod';
import { agentRef, agentStatus, progressOf, run, type RegisterTool } from '../tool-kit.js';
import { route } from '../routing.js';

export const registerWakeAgent: RegisterTool = (server, deps) => {
  server.registerTool(
    'wake_agent',
    {
      title: 'Wake a hibernated agent',
      description:
        "Start a hibernated agent's Claude Code again with --resume (same conversation) in a new tab, and return once it is ready. send_message_to_agent wakes one by itself; this is for waking it ahead of time. An agent that is not hibernated is left as it is (woke: false).",
      inputSchema: { agent: agentRef },
      outputSchema: { agent: z.string(), status: agentStatus, claude_session_id: z.string().nullable(), woke: z.boolean() },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
      ...route({ targets: { agent: 'agent' }, untargeted: 'here', waits: true }),
    },
    async (params, extra) => run('wake_agent', deps, async () => ({ ...(await deps.supervisor.wakeAgent(params.agent, progressOf(extra))) }), params),
  );
};
