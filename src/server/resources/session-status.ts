import type { ResourceKind } from './kit.js';

export const sessionStatus: ResourceKind = {
  name: 'session-status',
  template: 'tabcrew://sessions/{session}/status',
  title: "A session's agents",
  description: 'What get_session_status returns, as JSON; subscribe to hear when an agent changes status.',
  mimeType: 'application/json',
  async list(supervisor) {
    const { sessions } = await supervisor.listSessions();
    return sessions.map((s) => ({ uri: `tabcrew://sessions/${s.session_id}/status`, name: `${s.name} status` }));
  },
  async read(supervisor, { session }) {
    const status = await supervisor.getSessionStatus(session);
    // `since` and tokens move on their own; subscribers care about who is doing what.
    return JSON.stringify({ ...status, agents: status.agents.map(({ agent, status, status_source }) => ({ agent, status, status_source })) }, null, 2);
  },
};
