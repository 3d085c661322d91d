import { z } from 'zod';
import { agentRef, agentStatus, note, progressOf, run, type RegisterTool } from '../tool-kit.js';
import { route } from '../routing.js';

export const registerStartNewAgentConversation: RegisterTool = (server, deps) => {
  server.registerTool(
    'start_new_agent_conversation',
    {
      title: 'Start new agent conversation',
      description:
        'Give an agent a fresh conversation: its current one (if any) is ended, a new tab opens with a new Claude session id, and the agent keeps its name.',
      inputSchema: { agent: agentRef, initial_task: z.string().optional().describe('First message once the agent is ready.') },
      outputSchema: { agent: z.string(), claude_session_id: z.string(), status: agentStatus, note },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
      ...route({ targets: { agent: 'agent' }, untargeted: 'here', waits: true }),
    },
    async (params, extra) =>
      run('start_new_agent_conversation', deps, () => deps.supervisor.startNewAgentConversation(params.agent, params.initial_task, progressOf(extra)), params),
  );
};
