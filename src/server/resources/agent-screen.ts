import type { ResourceKind } from './kit.js';

export const agentScreen: ResourceKind = {
  name: 'agent-screen',
  template: 'tabcrew://agents/{agent}/screen',
  title: "An agent's terminal",
  description: "The last 100 lines of the agent's terminal, as plain text.",
  mimeType: 'text/plain',
  async list(supervisor) {
    const { sessions } = await supervisor.listSessions();
    return sessions.flatMap((s) => s.agents.map((a) => ({ uri: `tabcrew://agents/${a}/screen`, name: `${a} screen` })));
  },
  read: async (supervisor, { agent }) => (await supervisor.getAgentOutput(agent, 100)).screen,
};
