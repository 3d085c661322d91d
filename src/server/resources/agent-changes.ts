import type { ResourceKind } from './kit.js';

export const agentChanges: ResourceKind = {
  name: 'agent-changes',
  template: 'tabcrew://agents/{agent}/changes',
  title: "An agent's changes",
  description:
    "What the agent changed, as get_agent_changes returns it without the patch: its branch against the session's base branch, or the files its hooks say it wrote (JSON).",
  mimeType: 'application/json',
  async list(supervisor) {
    const { sessions } = await supervisor.listSessions();
    return sessions.flatMap((s) => s.agents.map((a) => ({ uri: `tabcrew://agents/${a}/changes`, name: `${a} changes` })));
  },
  read: async (supervisor, { agent }) => JSON.stringify(await supervisor.review.changes(agent), null, 2),
};
