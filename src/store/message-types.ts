import { z } from 'zod';

/*
 * Agent-to-agent messages and what agents report about themselves, as the state keeps them
 * (optional fields of the state; the whole state is encrypted, so message text is too).
 */

export const MESSAGE_KINDS = ['question', 'answer', 'handoff', 'status', 'note'] as const;
/**
 * queued: waiting for the recipient's turn to end; delivering: being typed (claimed under the
 * state lock, so one process types it); delivered: typed (outcome says whether Claude Code
 * confirmed it); read: taken by check_messages; expired: its TTL passed before either.
 */
export const RECIPIENT_STATES = ['queued', 'delivering', 'delivered', 'read', 'expired'] as const;
export const AGENT_REPORT_STATES = ['working', 'waiting', 'blocked', 'done'] as const;

export const recipientSchema = z.object({
  agent: z.string().min(1),
  state: z.enum(RECIPIENT_STATES),
  at: z.string(),
  /** The delivery transaction's id, once typed. */
  deliveryId: z.string().optional(),
  /** confirmed | unknown (see supervisor/delivery.ts). */
  outcome: z.string().optional(),
});

export const messageRecordSchema = z.object({
  id: z.string().min(1),
  sessionId: z.string().min(1),
  /** The verified sender: an agent name, or "supervisor" (the MCP client). */
  from: z.string().min(1),
  /** Sent to "all" (the session) rather than one agent. */
  broadcast: z.boolean().optional(),
  kind: z.enum(MESSAGE_KINDS),
  replyTo: z.string().optional(),
  text: z.string(),
  bytes: z.number().int().nonnegative(),
  sha256: z.string(),
  createdAt: z.string(),
  expiresAt: z.string(),
  recipients: z.array(recipientSchema),
});

/** update_my_status: what the agent says it is doing. */
export const agentReportSchema = z.object({
  state: z.enum(AGENT_REPORT_STATES),
  note: z.string(),
  at: z.string(),
});

export type MessageKind = (typeof MESSAGE_KINDS)[number];
export type RecipientState = (typeof RECIPIENT_STATES)[number];
export type MessageRecord = z.infer<typeof messageRecordSchema>;
export type Recipient = z.infer<typeof recipientSchema>;
export type AgentReport = z.infer<typeof agentReportSchema>;
