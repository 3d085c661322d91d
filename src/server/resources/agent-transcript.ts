import type { ResourceKind } from './kit.js';

export const agentTranscript: ResourceKind = {
  name: 'agent-transcript',
  template: 'tabcrew://agents/{agent}/transcript',
  title: "An agent's recent turns",
  description: "The last 10 prompts of the agent's conversation with their replies, from its transcript (JSON).",
  mimeType: 'application/json',
  async list(supervisor) {
    const { sessions } = await supervisor.listSessions();
    return sessions.flatMap((s) => s.agents.map((a) => ({ uri: `tabcrew://agents/${a}/transcript`, name: `${a} transcript` })));
  },
  read: async (supervisor, { agent }) => JSON.stringify(await supervisor.getAgentTranscript(agent, 10), null, 2),
};
