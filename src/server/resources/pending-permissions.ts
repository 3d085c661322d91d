import type { ResourceKind } from './kit.js';

export const pendingPermissions: ResourceKind = {
  name: 'pending-permissions',
  template: 'tabcrew://permissions/pending',
  title: 'Pending permission requests',
  description: 'What list_pending_permissions returns, as JSON; subscribe to hear when an agent asks (or a request closes).',
  mimeType: 'application/json',
  list: async () => [{ uri: 'tabcrew://permissions/pending', name: 'pending permission requests' }],
  read: async (supervisor) => JSON.stringify({ requests: await supervisor.listPendingPermissions() }, null, 2),
};
