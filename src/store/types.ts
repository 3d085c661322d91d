import type { TabHandle } from '../terminals/backend.js';

export const AGENT_STATUSES = [
  'starting',
  'idle',
  'busy',
  'waiting_permission',
  'exited',
  'detached',
  'cleared',
] as const;
export type AgentStatus = (typeof AGENT_STATUSES)[number];

/** Who set a status, in order of trust. */
export type StatusSource = 'hook' | 'terminal' | 'screen' | 'supervisor';

export interface SessionRecord {
  id: string;
  name: string;
  /** realpath of the root directory. */
  root: string;
  createdAt: string;
  /** Set while delete_session runs: no agent may be created in it any more. */
  deleting?: boolean;
}

export interface LaunchOptions {
  role?: string;
  model?: string;
  permissionMode?: string;
}

export interface AgentRecord {
  name: string;
  sessionId: string;
  launch: LaunchOptions;
  /** null while the agent is `cleared` (no conversation running). */
  claudeSessionId: string | null;
  /** Every Claude session id this agent has had, oldest first. */
  pastClaudeSessionIds: string[];
  status: AgentStatus;
  statusSource: StatusSource;
  since: string;
  tab: TabHandle | null;
  createdAt: string;
  /** The current launch of the conversation; its hook records carry it. */
  launchId?: string;
  /** How Claude Code's folder-trust dialog was handled at the last launch. */
  trust?: 'already_trusted' | 'accepted_by_tabcrew';
  /** The supervisor launching it, from its reservation until its tab is recorded (see supervisor/owner.ts). */
  owner?: { pid: number; pidStart: string; host: string; instance: string; heartbeat: string };
}

export interface State {
  version: 1;
  /** Agent names are never reused while the state lives: Agent_<nextAgentNumber> is next. */
  nextAgentNumber: number;
  sessions: SessionRecord[];
  agents: AgentRecord[];
}

export function emptyState(): State {
  return { version: 1, nextAgentNumber: 1, sessions: [], agents: [] };
}
