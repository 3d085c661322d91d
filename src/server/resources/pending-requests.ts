import type { ResourceKind } from './kit.js';

export const pendingRequests: ResourceKind = {
  name: 'pending-requests',
  template: 'tabcrew://requests/pending',
  title: 'What agents wait on a person for',
  description:
    'What list_pending_requests returns (permission dialogs, questions, plans to approve), as JSON; subscribe to hear when an agent asks (or a request closes).',
  mimeType: 'application/json',
  list: async () => [{ uri: 'tabcrew://requests/pending', name: 'pending requests' }],
  read: async (supervisor) => JSON.stringify({ requests: await supervisor.listPendingRequests() }, null, 2),
};
