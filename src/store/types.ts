import { z } from 'zod';
import type { TabHandle as TerminalTab } from '../terminals/backend.js';

/*
 * The one source of the state's shape: the zod schemas below validate every state read from
 * disk, the TypeScript types are inferred from them, and the enums are exported so other
 * layers (the MCP tools' output schemas) derive theirs instead of copying the values.
 *
 * Unknown fields: a state is validated, not rebuilt — decoding returns the object as read,
 * so a field this tabcrew does not know (written by a newer one) survives its next save.
 * A newer tabcrew whose change an older one must not ignore raises STATE_VERSION instead,
 * and an older tabcrew refuses that state ("upgrade tabcrew").
 */

/** The newest state version this tabcrew reads and the one it writes. */
export const STATE_VERSION = 2;

export const AGENT_STATUSES = ['starting', 'idle', 'busy', 'waiting_permission', 'exited', 'detached', 'cleared'] as const;
/** Who set a status, in order of trust. */
export const STATUS_SOURCES = ['hook', 'terminal', 'screen', 'supervisor'] as const;
export const TRUST_OUTCOMES = ['already_trusted', 'accepted_by_tabcrew'] as const;
export const TAB_BACKENDS = ['tmux', 'iterm2', 'pty'] as const;

const isoTime = z.string();

export const tabHandleSchema = z.object({
  backend: z.enum(TAB_BACKENDS),
  /** tmux window id (`@3`), iTerm2 session GUID, or pty id. */
  id: z.string(),
  pane: z.string().optional(),
  pid: z.number().int().optional(),
  tty: z.string().optional(),
});

export const sessionRecordSchema = z.object({
  id: z.string().min(1),
  name: z.string(),
  /** realpath of the root directory. */
  root: z.string().min(1),
  createdAt: isoTime,
  /** Set while delete_session runs: no agent may be created in it any more. */
  deleting: z.boolean().optional(),
});

export const launchOptionsSchema = z.object({
  role: z.string().optional(),
  model: z.string().optional(),
  permissionMode: z.string().optional(),
});

/** Which tabcrew process is launching or running an agent, so that no other one launches it too. */
export const agentOwnerSchema = z.object({
  pid: z.number().int().positive(),
  /** The process's start time as the OS reports it: a pid alone is reused. */
  pidStart: z.string(),
  /** When the owner last said it is alive (ISO time). */
  heartbeat: isoTime,
  host: z.string(),
  /** Two supervisors in one process are two owners. */
  instance: z.string(),
});

export const agentRecordSchema = z.object({
  name: z.string().min(1),
  sessionId: z.string().min(1),
  launch: launchOptionsSchema,
  /** null while the agent is `cleared` (no conversation running). */
  claudeSessionId: z.string().nullable(),
  /** Every Claude session id this agent has had, oldest first. */
  pastClaudeSessionIds: z.array(z.string()),
  status: z.enum(AGENT_STATUSES),
  statusSource: z.enum(STATUS_SOURCES),
  since: isoTime,
  tab: tabHandleSchema.nullable(),
  createdAt: isoTime,
  /** The current launch of the conversation; its hook records carry it. */
  launchId: z.string().optional(),
  /** How Claude Code's folder-trust dialog was handled at the last launch. */
  trust: z.enum(TRUST_OUTCOMES).optional(),
  /** The supervisor launching it, from its reservation until its tab is recorded (see supervisor/owner.ts). */
  owner: agentOwnerSchema.optional(),
});

/** The last audit record at the time of a save: a shortened audit log shows against it. */
export const auditHeadSchema = z.object({ seq: z.number().int().nonnegative(), hash: z.string().min(1) });

/** A session the front (`serve --node …`) knows to live on another node (see src/crew/). */
export const crewSessionSchema = z.object({ id: z.string().min(1), name: z.string(), node: z.string().min(1) });

const v1Fields = {
  /** Agent names are never reused while the state lives: Agent_<nextAgentNumber> is next. */
  nextAgentNumber: z.number().int().positive(),
  sessions: z.array(sessionRecordSchema),
  agents: z.array(agentRecordSchema),
};

/** Version 1: what tabcrew 0.1 wrote. Read, and migrated to the current version on the next save. */
export const stateV1Schema = z.object({ version: z.literal(1), ...v1Fields });

export const stateSchema = z.object({
  version: z.literal(STATE_VERSION),
  ...v1Fields,
  /** Raised by every save; a state below the newest one written is a rollback (see rollback.ts). */
  generation: z.number().int().nonnegative(),
  /** base64 of 32 random bytes, made at the first save that lacks it; the audit log keys its chain with it. */
  auditKey: z
    .string()
    .regex(/^[A-Za-z0-9+/]{43}=$/, 'base64 of 32 bytes')
    .optional(),
  audit: auditHeadSchema.optional(),
  /** Only on a front with nodes: which session lives on which node. */
  crew: z.object({ sessions: z.array(crewSessionSchema) }).optional(),
});

export type AgentStatus = (typeof AGENT_STATUSES)[number];
export type StatusSource = (typeof STATUS_SOURCES)[number];
export type TabHandle = z.infer<typeof tabHandleSchema>;
export type SessionRecord = z.infer<typeof sessionRecordSchema>;
export type LaunchOptions = z.infer<typeof launchOptionsSchema>;
export type AgentOwner = z.infer<typeof agentOwnerSchema>;
export type AgentRecord = z.infer<typeof agentRecordSchema>;
export type AuditHead = z.infer<typeof auditHeadSchema>;
export type CrewSession = z.infer<typeof crewSessionSchema>;
export type StateV1 = z.infer<typeof stateV1Schema>;
export type State = z.infer<typeof stateSchema>;

// The terminals layer hands out the tabs the state keeps: the two shapes must stay one.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const tabShapesAgree: Same<TabHandle, TerminalTab> = true;
void tabShapesAgree;

export function emptyState(): State {
  return { version: STATE_VERSION, nextAgentNumber: 1, sessions: [], agents: [], generation: 0 };
}
