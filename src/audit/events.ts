import { sha256 } from './chain.js';
import { redactValue } from './redact.js';

/** What the audit log records: the event types callers append, and how a tool call is summarised. */

export type AuditOutcome = 'ok' | 'refused' | 'failed';

/** What a caller appends; the log adds seq, ts, pid, prev, hash (and mac with the key). */
export interface AuditEvent {
  type: string;
  agent?: string;
  session?: string;
  [field: string]: unknown;
}

export interface AuditRecord extends AuditEvent {
  seq: number;
  /** ISO-8601 UTC. */
  ts: string;
  pid: number;
  prev: string;
  hash: string;
  /** HMAC-SHA256 of `hash` with the audit key; absent in a log written without the key. */
  mac?: string;
}

export interface ToolCallEvent extends AuditEvent {
  type: 'tool_call';
  tool: string;
  caller: string;
  args: Record<string, unknown>;
  outcome: AuditOutcome;
  ms: number;
  reason?: string;
}

export interface StatusChangeEvent extends AuditEvent {
  type: 'status_change';
  agent: string;
  from?: string;
  to: string;
  source: string;
}

export interface RecoveryEvent extends AuditEvent {
  type: 'recovery';
  action: string;
  outcome: AuditOutcome | 'skipped';
}

export interface RefusalEvent extends AuditEvent {
  type: 'refusal';
  what: string;
  reason: string;
}

/** Where a missing piece of the log was noticed. */
export type GapSource = 'head_file' | 'anchor' | 'process';

/**
 * Written by the log itself when the log does not reach a point it was known to reach:
 * the chain continues from what is there, and this record keeps the loss visible.
 */
export interface GapEvent extends AuditEvent {
  type: 'gap';
  /** The point the log should contain; null when the head file was missing or unreadable. */
  expected: { seq: number; hash: string } | null;
  /** Where the log actually ends. */
  found: { seq: number; hash: string };
  source: GapSource;
  reason: string;
}

// ---------------------------------------------------------------------------------------
// Tool-call records: message bodies are never stored, only their length and a hash prefix.

/** Argument names whose values are message bodies. */
export const MESSAGE_BODY_KEYS: readonly string[] = ['message', 'initial_task', 'reply', 'text', 'body', 'prompt', 'content', 'task', 'per_agent_tasks'];
/** Longer string arguments are cut: the audit log records what was done, not payloads. */
const MAX_ARG_CHARS = 2000;

export function summarizeBody(body: string): { length: number; sha256_prefix: string } {
  return { length: body.length, sha256_prefix: sha256(body).slice(0, 16) };
}

/** Tool arguments as the audit log stores them: bodies summarised, secrets redacted, long strings cut. */
export function summarizeArgs(args: Record<string, unknown>): Record<string, unknown> {
  return summarize(redactValue(bodiesOut(args, 0)), 0) as Record<string, unknown>;
}

function bodiesOut(v: unknown, depth: number): unknown {
  if (depth > 16 || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => bodiesOut(x, depth + 1));
  return Object.fromEntries(
    Object.entries(v).map(([k, x]) => [
      k,
      MESSAGE_BODY_KEYS.includes(k) && typeof x === 'string'
        ? summarizeBody(x)
        : MESSAGE_BODY_KEYS.includes(k) && Array.isArray(x)
          ? x.map((b) => (typeof b === 'string' ? summarizeBody(b) : bodiesOut(b, depth + 1)))
          : bodiesOut(x, depth + 1),
    ]),
  );
}

function summarize(v: unknown, depth: number): unknown {
  if (typeof v === 'string') return v.length > MAX_ARG_CHARS ? `${v.slice(0, MAX_ARG_CHARS)}…[+${v.length - MAX_ARG_CHARS} chars]` : v;
  if (depth > 16 || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => summarize(x, depth + 1));
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, summarize(x, depth + 1)]));
}

export interface ToolCallInput {
  tool: string;
  /** The MCP client's name (initialize → clientInfo.name). */
  caller?: string;
  args?: Record<string, unknown>;
  outcome: AuditOutcome;
  ms: number;
  /** Why it was refused, or the error message when it failed. */
  reason?: string;
  /** Default: args.agent / args.session when they are strings. */
  agent?: string;
  session?: string;
}

/** The record for one tool call, ready for `append`. */
export function toolCallEvent(input: ToolCallInput): ToolCallEvent {
  const raw = input.args ?? {};
  const event: ToolCallEvent = {
    type: 'tool_call',
    tool: input.tool,
    caller: input.caller ?? 'unknown',
    args: summarizeArgs(raw),
    outcome: input.outcome,
    ms: input.ms,
  };
  const agent = input.agent ?? (typeof raw.agent === 'string' ? raw.agent : undefined);
  const session = input.session ?? (typeof raw.session === 'string' ? raw.session : undefined);
  if (agent !== undefined) event.agent = agent;
  if (session !== undefined) event.session = session;
  if (input.reason !== undefined) event.reason = input.reason;
  return event;
}
