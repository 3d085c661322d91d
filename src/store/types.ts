import { z } from 'zod';
import { agentReportSchema, messageRecordSchema } from './message-types.js';
import { mergeRecordSchema } from './merges.js';
import { runRecordSchema } from './runs.js';

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

export const AGENT_STATUSES = [
  'starting',
  'idle',
  'busy',
  'waiting_permission',
  'waiting_answer',
  'waiting_plan_approval',
  'exited',
  'detached',
  'cleared',
  'paused',
  'hibernated',
] as const;
/** An agent whose Claude Code waits for a person: a permission dialog, a question, a plan to approve. */
export const WAITING_STATUSES = ['waiting_permission', 'waiting_answer', 'waiting_plan_approval'] as const;

export function isWaitingOnPerson(status: string): boolean {
  return (WAITING_STATUSES as readonly string[]).includes(status);
}
/** Who set a status, in order of trust. */
export const STATUS_SOURCES = ['hook', 'terminal', 'screen', 'supervisor'] as const;
export const TRUST_OUTCOMES = ['already_trusted', 'accepted_by_tabcrew'] as const;
/** How Claude Code's "Do you want to use this API key?" was settled for ANTHROPIC_API_KEY (claude/claude-config.ts). */
export const API_KEY_OUTCOMES = ['already_approved', 'approved_by_tabcrew'] as const;
/** How Claude Code's first-run setup ("Welcome to Claude Code") was settled for an approved ANTHROPIC_API_KEY (claude/claude-config.ts). */
export const ONBOARDING_OUTCOMES = ['already_completed', 'completed_by_tabcrew'] as const;
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
  /** A role id of the catalogue (claude/roles.ts), or the caller's own text. */
  role: z.string().optional(),
  /** Set when `role` is a catalogue id: what it meant at launch, so a resume renders the same prompt. */
  roleTitle: z.string().optional(),
  roleGuidance: z.string().optional(),
  /** The role's Claude Code permission rules at launch (claude/roles.ts effectivePermissions), kept like its guidance. */
  rolePermissions: z.object({ read_only: z.boolean(), allow: z.array(z.string()), deny: z.array(z.string()) }).optional(),
  model: z.string().optional(),
  permissionMode: z.string().optional(),
  /** Paths its sandbox shows besides the usual ones (create_agent sandbox_extra_paths): `DIR` or `DIR:rw`. */
  sandboxExtraPaths: z.array(z.string()).optional(),
});

/** The OS sandbox of an agent's last launch (claude/sandbox.ts); kind none: it ran without one. */
export const agentSandboxSchema = z.object({
  kind: z.enum(['bubblewrap', 'seatbelt', 'none']),
  paths: z.object({ read: z.array(z.string()), write: z.array(z.string()), hidden: z.array(z.string()) }).optional(),
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

/** Per-agent limits; null lifts the server-wide default for this agent (resume_agent without raise_to). */
export const agentLimitsSchema = z.object({
  maxCostUsd: z.number().positive().nullable().optional(),
  maxTokens: z.number().int().positive().nullable().optional(),
  timeoutMinutes: z.number().positive().nullable().optional(),
  /** Reaching a limit mid-turn sends Escape once (never into a dialog) instead of waiting for the turn to end. */
  interrupt: z.boolean().optional(),
});

export const HOLD_REASONS = ['budget', 'timeout'] as const;
export const LIMIT_NAMES = ['max_cost_usd', 'max_tokens', 'timeout_minutes', 'max_total_cost'] as const;

/** Set while an agent is paused: it takes no messages until resume_agent. */
export const agentHoldSchema = z.object({
  reason: z.enum(HOLD_REASONS),
  limit: z.enum(LIMIT_NAMES),
  /** The limit and what was used when it was reached (USD, tokens or minutes). */
  value: z.number(),
  used: z.number(),
  at: isoTime,
});

/** Relaunches after Claude Code exited by itself (supervisor/keeper.ts). */
export const agentRelaunchSchema = z.object({
  attempts: z.number().int().nonnegative(),
  lastAttemptAt: isoTime,
  lastError: z.string().optional(),
  /** No more attempts: the agent stays `exited`. */
  gaveUp: z.boolean().optional(),
  /** An attempt is under way; a server restarted meanwhile takes it as failed (the agent is still dead). */
  running: z.boolean().optional(),
  /** The last attempt did not bring it back: its tab missing (`detached`) still means dead. */
  failed: z.boolean().optional(),
});

/**
 * What the keeper has done about an agent's health, kept so a restarted server goes on
 * where the last one stopped (supervisor/keeper.ts).
 */
export const agentHealthMarksSchema = z.object({
  /** The last stuck / waiting_long episode a person was told about: it is not told again. */
  told: z.object({ health: z.enum(['stuck', 'waiting_long']), since: z.string() }).optional(),
  /** Escape was sent once for a reached limit (interrupt: true): never twice in one turn. */
  interruptedAt: isoTime.optional(),
});

/** Limits of the API (supervisor/limits.ts, docs/usage-limits.md): a subscription's usage limit, or a plain 429. */
export const API_LIMIT_KINDS = ['usage_limit', 'rate_limit'] as const;

/** A turn of the agent ended on an API limit: paused until `resumesAt`, then resumed by tabcrew. */
export const agentUsageLimitSchema = z.object({
  /** The account (credential fingerprint, claude/usage-limit.ts) it ran into. */
  account: z.string(),
  kind: z.enum(API_LIMIT_KINDS),
  resumesAt: isoTime,
  at: isoTime,
  /** Time of the StopFailure hook record it was paused for: the same failure is never taken twice. */
  failureTs: z.number(),
  /** Waiting for `resumesAt`; false once resumed (the record stays so the failure is not taken again). */
  paused: z.boolean(),
  /** Delivery id of the message that resumed it: a coordination run follows the turn it started. */
  resumeDelivery: z.string().optional(),
});

/** An account's limit episode (supervisor/limits.ts). */
export const accountLimitSchema = z.object({
  account: z.string(),
  kind: z.enum(API_LIMIT_KINDS),
  /** limited until resumesAt; resuming: its paused agents and queued work are being resumed; clear: over. */
  state: z.enum(['limited', 'resuming', 'clear']),
  resumesAt: isoTime,
  since: isoTime,
  /** Plain 429s in a row (each one doubles tabcrew's own backoff); 0 for a usage limit. */
  strikes: z.number().int().nonnegative(),
  clearedAt: isoTime.optional(),
});

/** Work asked for with `queue: true` while the account was limited: done after the reset. */
export const limitQueueItemSchema = z.object({
  id: z.string().min(1),
  account: z.string(),
  at: isoTime,
  kind: z.enum(['message', 'create']),
  /** message: the agent and the text. */
  agent: z.string().optional(),
  message: z.string().optional(),
  /** create: create_agent's input. */
  input: z.record(z.unknown()).optional(),
});

const tokenCount = z.number().int().nonnegative();
export const tokenTotalsSchema = z.object({ input: tokenCount, output: tokenCount, cache_read: tokenCount, cache_creation: tokenCount });

/**
 * The usage tabcrew has counted for an agent (supervisor/usage-ledger.ts): budgets and cost
 * rest on it, not on the transcripts the agent can rewrite. Totals only grow.
 */
export const agentUsageLedgerSchema = z.object({
  /** Every call counted, over all its conversations, per model. */
  byModel: z.record(tokenTotalsSchema),
  /** The last calls counted, by id: a call whose lines are read in two goes is counted once. */
  recent: z.array(tokenTotalsSchema.extend({ id: z.string(), model: z.string() })),
  /** Per conversation (Claude session id) still read: where its transcript was read up to, and its tokens. */
  conversations: z.record(z.object({ offset: tokenCount, head: z.string(), tokens: tokenTotalsSchema })),
  /** Times a transcript was found shortened or rewritten under tabcrew (it went on counting from byte 0). */
  rewinds: tokenCount.optional(),
});

/** The agent's own git worktree (isolation: "worktree"). */
export const agentWorktreeSchema = z.object({
  path: z.string().min(1),
  branch: z.string().min(1),
  /** The branch (or commit) it was made from: commits ahead are counted against it. */
  base: z.string().optional(),
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
  /** How the API-key question was settled at the last launch; absent without ANTHROPIC_API_KEY. */
  apiKey: z.enum(API_KEY_OUTCOMES).optional(),
  /** How Claude Code's first-run setup was settled at the last launch; absent unless tabcrew approved or found approved ANTHROPIC_API_KEY. */
  onboarding: z.enum(ONBOARDING_OUTCOMES).optional(),
  /** The supervisor launching it, from its reservation until its tab is recorded (see supervisor/owner.ts). */
  owner: agentOwnerSchema.optional(),
  /** sha256 (hex) of the agent's secret for this launch; the secret itself is only in the agent's runtime folder. */
  secretSha256: z.string().optional(),
  /** What the agent last said about itself (update_my_status). */
  report: agentReportSchema.optional(),
  /** The agent that spawned this one (spawn_agent / coordinate_agents called by an agent). */
  parent: z.string().optional(),
  /** Long-running crews (supervisor/budgets.ts, keeper.ts, worktrees.ts; docs/long-running.md). */
  limits: agentLimitsSchema.optional(),
  hold: agentHoldSchema.optional(),
  /** Paused by an API usage or rate limit (supervisor/limits.ts). */
  usageLimit: agentUsageLimitSchema.optional(),
  relaunch: agentRelaunchSchema.optional(),
  healthMarks: agentHealthMarksSchema.optional(),
  worktree: agentWorktreeSchema.optional(),
  /** Its Claude Code was stopped on purpose after --hibernate-after idle; the next message wakes it. */
  hibernated: z.object({ at: isoTime }).optional(),
  /** Counted usage (supervisor/usage-ledger.ts); absent until first counted. */
  usage: agentUsageLedgerSchema.optional(),
  sandbox: agentSandboxSchema.optional(),
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
  /** Agent-to-agent messages until they expire (supervisor/messages.ts). */
  messages: z.array(messageRecordSchema).optional(),
  /** coordinate_agents runs, newest last (see store/runs.ts). */
  runs: z.array(runRecordSchema).optional(),
  /** merge_agent_work calls of every session, oldest first, a bounded history per session (see store/merges.ts). */
  merges: z.array(mergeRecordSchema).optional(),
  /** Crew-wide limits raised at run time (resume_agent raise_to on a max_total_cost pause). */
  crewLimits: z.object({ maxTotalCostUsd: z.number().positive().optional() }).optional(),
  /** Usage-limit episodes per account, and the work queued until their reset (supervisor/limits.ts). */
  usageLimits: z.array(accountLimitSchema).optional(),
  limitQueue: z.array(limitQueueItemSchema).optional(),
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
export type AgentLimits = z.infer<typeof agentLimitsSchema>;
export type AgentHold = z.infer<typeof agentHoldSchema>;
export type AgentUsageLimit = z.infer<typeof agentUsageLimitSchema>;
export type AccountLimit = z.infer<typeof accountLimitSchema>;
export type LimitQueueItem = z.infer<typeof limitQueueItemSchema>;
export type TokenTotals = z.infer<typeof tokenTotalsSchema>;
export type AgentUsageLedger = z.infer<typeof agentUsageLedgerSchema>;
export type LimitName = (typeof LIMIT_NAMES)[number];
export type CrewSession = z.infer<typeof crewSessionSchema>;
export type StateV1 = z.infer<typeof stateV1Schema>;
export type State = z.infer<typeof stateSchema>;

export function emptyState(): State {
  return { version: STATE_VERSION, nextAgentNumber: 1, sessions: [], agents: [], generation: 0 };
}
