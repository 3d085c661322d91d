import type { ResourceKind } from './kit.js';

export const sessionTodo: ResourceKind = {
  name: 'session-todo',
  template: 'tabcrew://sessions/{session}/todo',
  title: "A session's TODO.md",
  description: 'TODO.md at the session root, the task list the agents claim from (empty when there is none).',
  mimeType: 'text/markdown',
  async list(supervisor) {
    const { sessions } = await supervisor.listSessions();
    return sessions.map((s) => ({ uri: `tabcrew://sessions/${s.session_id}/todo`, name: `${s.name} TODO.md` }));
  },
  read: async (supervisor, { session }) => (await supervisor.getTodo(session)).text ?? '',
};
