import type { MessageKind, MessageRecord, Recipient } from '../store/message-types.js';

/* How messages are shown: a recipient's inbox (with text), a session's list (without). */

export interface InboxMessage {
  message_id: string;
  from: string;
  kind: MessageKind;
  reply_to?: string;
  sent_at: string;
  text: string;
}

export interface MessageSummary {
  message_id: string;
  session_id: string;
  from: string;
  to: string[];
  broadcast: boolean;
  kind: MessageKind;
  reply_to?: string;
  bytes: number;
  sha256: string;
  sent_at: string;
  expires_at: string;
  recipients: { agent: string; state: Recipient['state']; at: string; outcome?: string }[];
}

/** A stored message without its text. */
export function summary(m: MessageRecord): MessageSummary {
  return {
    message_id: m.id,
    session_id: m.sessionId,
    from: m.from,
    to: m.recipients.map((r) => r.agent),
    broadcast: !!m.broadcast,
    kind: m.kind,
    ...(m.replyTo ? { reply_to: m.replyTo } : {}),
    bytes: m.bytes,
    sha256: m.sha256,
    sent_at: m.createdAt,
    expires_at: m.expiresAt,
    recipients: m.recipients.map((r) => ({ agent: r.agent, state: r.state, at: r.at, ...(r.outcome ? { outcome: r.outcome } : {}) })),
  };
}
