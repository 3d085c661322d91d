import { createHash } from 'node:crypto';
import { inputFingerprint } from './permission-files.js';

/**
 * One line of an agent's hook spool. It carries no message text: a delivery is confirmed
 * by the prompt's fingerprint, never by the prompt itself.
 */
export interface HookRecord {
  ts: number;
  event: string;
  /**
   * Which launch of the conversation fired it. A killed Claude Code runs on for ~2 s and
   * may fire SessionEnd after the same conversation was already relaunched.
   */
  launch?: string;
  session_id?: string;
  transcript_path?: string;
  /** SessionStart source (startup/resume/clear/compact) or SessionEnd reason. */
  source?: string;
  reason?: string;
  tool_name?: string;
  notification_type?: string;
  /** UserPromptSubmit: fingerprint of the prompt (see promptFingerprint). */
  prompt_fp?: string;
  /** UserPromptSubmit: the delivery id of a tabcrew header, when the prompt has one. */
  delivery_id?: string;
  /**
   * Stop: fingerprint of the turn's last assistant text as Claude Code reports it
   * (last_assistant_message), so the reply read from the transcript is known to be that one.
   */
  reply_fp?: string;
  /** StopFailure: the error kind, cut short. */
  error?: string;
  /** PreToolUse: set when the hook denied the call (a session boundary, see boundary.ts); PermissionDecided: the supervisor's answer. */
  decision?: 'deny' | 'allow';
  /** PostToolUse(Failure): fingerprint of the call's input, matched by a waiting PermissionRequest hook (permission-hold.ts). */
  input_fp?: string;
  /** PostToolUse of a tool that writes one file (FILE_TOOLS): that file, as the agent named it (review/hook-files.ts). */
  file_path?: string;
}

/** The tools whose input names the one file they write; an agent without a worktree is credited with it. */
export const FILE_TOOLS: ReadonlySet<string> = new Set(['Write', 'Edit', 'MultiEdit', 'NotebookEdit']);

function filePathOf(toolInput: unknown): string | undefined {
  if (!toolInput || typeof toolInput !== 'object') return undefined;
  const i = toolInput as { file_path?: unknown; notebook_path?: unknown };
  return str(i.file_path, 4096) ?? str(i.notebook_path, 4096);
}

/**
 * Claude Code normalises what it submits (a TAB becomes four spaces, CRLF becomes LF), so
 * the fingerprint ignores whitespace: the same words in the same order match.
 */
export function promptFingerprint(text: string): string {
  return createHash('sha256').update(text.replace(/\s+/gu, ''), 'utf8').digest('hex').slice(0, 32);
}

const DELIVERY_ID = /\[ADDER\+ [^\]\n]*delivery (d-[0-9a-z]{6,32})\]/u;

export function deliveryIdIn(text: string): string | undefined {
  return DELIVERY_ID.exec(text.slice(0, 2000))?.[1];
}

function str(v: unknown, max = 200): string | undefined {
  return typeof v === 'string' ? v.slice(0, max) : undefined;
}

export function toHookRecord(input: Record<string, unknown>, now = Date.now(), launch?: string): HookRecord {
  const event = str(input.hook_event_name) ?? 'unknown';
  const rec: HookRecord = {
    ts: now,
    event,
    ...(launch ? { launch: launch.slice(0, 64) } : {}),
    session_id: str(input.session_id),
    transcript_path: str(input.transcript_path, 4096),
  };
  if (event === 'SessionStart') rec.source = str(input.source);
  if (event === 'SessionEnd') rec.reason = str(input.reason);
  if (typeof input.tool_name === 'string') rec.tool_name = str(input.tool_name);
  if (event === 'PostToolUse' || event === 'PostToolUseFailure') rec.input_fp = inputFingerprint(input.tool_input);
  if (event === 'PostToolUse' && FILE_TOOLS.has(rec.tool_name ?? '')) {
    const file = filePathOf(input.tool_input);
    if (file) rec.file_path = file;
  }
  if (event === 'Notification') rec.notification_type = str(input.notification_type);
  if (event === 'UserPromptSubmit' && typeof input.prompt === 'string') {
    rec.prompt_fp = promptFingerprint(input.prompt);
    rec.delivery_id = deliveryIdIn(input.prompt);
  }
  if (event === 'Stop' && typeof input.last_assistant_message === 'string') rec.reply_fp = promptFingerprint(input.last_assistant_message);
  if (event === 'StopFailure') {
    const err = input.error;
    rec.error = typeof err === 'string' ? str(err) : str((err as { type?: unknown } | undefined)?.type);
  }
  return rec;
}
