/**
 * State records for unit tests: a valid agent that each test changes only where its case
 * differs, so a new required field of AgentRecord is added here once.
 */
import type { AgentRecord } from '../../src/store/types.js';

export const RECORD_TIME = '2026-12-01T10:00:00.000Z';

/** Agent_1 of session s-1: idle (by hook), no tab, one Claude Code session id. */
export const agentRecord = (extra: Partial<AgentRecord> = {}): AgentRecord => ({
  name: 'Agent_1',
  sessionId: 's-1',
  launch: {},
  claudeSessionId: '00000000-0000-4000-8000-000000000001',
  pastClaudeSessionIds: [],
  status: 'idle',
  statusSource: 'hook',
  since: RECORD_TIME,
  tab: null,
  createdAt: RECORD_TIME,
  ...extra,
});
