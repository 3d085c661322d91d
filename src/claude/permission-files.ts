import { createHash, randomBytes } from 'node:crypto';
import { linkSync, readFileSync, readlinkSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { redactKeepingCode } from '../audit/redact.js';
import type { QuestionAnswer, RequestKind, RequestQuestion } from './request-kinds.js';

/**
 * The files through which an agent's PermissionRequest hook (claude/permission-hold.ts) and
 * the supervisor (supervisor/permissions.ts) talk, in the agent's private runtime folder
 * `<runtime>/agents/<claude id>/permissions/` (0700, files 0600):
 *
 * - `<id>.request.json`: written by the hook when Claude Code is about to ask; removed by
 *   the hook when it stops waiting. It holds a redacted summary of the call, never the
 *   call's raw input.
 * - `<id>.decision.json`: created exactly once (hard link of a complete temp file, which
 *   fails if it exists), by the supervisor (allow/deny) or by the hook when it gives up
 *   (closed). Whoever links first wins, so a decision is one-shot even across two tabcrew
 *   processes, and the file stays as the request's tombstone.
 *
 * Imported by the hook: node built-ins and the redaction rules only.
 */

export const REQUEST_ID = /^p-[0-9a-f]{16}$/;
export const PERMISSIONS_DIR = 'permissions';
/** The redacted one-line summary of a tool call is cut here, and says so. */
export const SUMMARY_CHARS = 2000;

export interface PermissionRequestFile {
  v: 1;
  request_id: string;
  /** The agent name the hook was launched with (TABCREW_AGENT); the supervisor trusts its own state instead. */
  agent?: string;
  claude_session_id?: string;
  launch?: string;
  tool: string;
  /** What is asked (claude/request-kinds.ts); absent in files of older hooks: a permission. */
  kind?: RequestKind;
  input_summary: string;
  /** A question's questions and options (redacted, cut). */
  questions?: RequestQuestion[];
  /** A plan's text (redacted, cut). */
  plan?: string;
  /** Fingerprint of the call's input: a later PostToolUse with the same one means it was answered at the tab. */
  input_fp: string;
  /** ISO-8601. */
  since: string;
  /** The waiting hook process. */
  pid: number;
  /**
   * Its PID namespace (Linux `/proc/self/ns/pid`, e.g. `pid:[4026532176]`). A hook in an
   * agent's sandbox has its own: there `pid` names no process the supervisor can see.
   */
  pid_ns?: string;
  /** Seconds the hook waits before leaving the dialog to the tab (--permission-timeout); absent: no limit of its own. */
  timeout_s?: number;
}

/** Why a hook stopped waiting without an answer from the supervisor. */
export const CLOSE_REASONS = ['timeout', 'answered_at_tab', 'claude_ended', 'hook_stopped', 'hook_gone'] as const;
export type CloseReason = (typeof CLOSE_REASONS)[number];

export type PermissionDecisionFile =
  | { request_id: string; decision: 'allow' | 'deny'; reason?: string; by: string; at: string; answers?: QuestionAnswer[] }
  | { request_id: string; decision: 'closed'; why: CloseReason; by: 'hook' | 'supervisor'; at: string };

export function newRequestId(): string {
  return `p-${randomBytes(8).toString('hex')}`;
}

export function requestPath(dir: string, id: string): string {
  return join(dir, `${id}.request.json`);
}

export function decisionPath(dir: string, id: string): string {
  return join(dir, `${id}.decision.json`);
}

export function inputFingerprint(input: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify(input ?? null) ?? 'null')
    .digest('hex')
    .slice(0, 32);
}

/**
 * What a person needs to judge the call, short and on one line: the command, the file, or
 * the input as JSON. Literal secret values are redacted; code never is (redactKeepingCode:
 * `$(…)`, backticks, pipes, `;`, here-documents stay), a line break shows as "↵" so a second
 * command never reads as an argument of the first, and a cut says how much is not shown.
 */
export function summarizeToolInput(input: unknown): string {
  const o = input && typeof input === 'object' ? (input as Record<string, unknown>) : {};
  const pick = (k: string): string | undefined => (typeof o[k] === 'string' ? (o[k] as string) : undefined);
  let text = pick('command') ?? pick('file_path') ?? pick('notebook_path') ?? pick('url') ?? pick('path') ?? pick('pattern');
  if (text === undefined) {
    try {
      text = JSON.stringify(input) ?? '';
    } catch {
      text = '';
    }
  }
  return approvalSummary(text);
}

/**
 * The one way a summary for approval is made (by the hook, and again by the supervisor over
 * what the hook's file says): redacted whole before it is cut, so a secret split by the cut
 * is still recognised. Idempotent, so a summary passed through it again stays the same.
 */
export function approvalSummary(text: string): string {
  // Redacted again once flat: lines joined can read as a secret no line did alone (a heredoc's
  // body is code until its lines are joined), and a second pass must find nothing new.
  const flat = redactKeepingCode(
    redactKeepingCode(text)
      .replace(/\r?\n/g, ' ↵ ')
      .replace(/\t/g, ' ')
      .replace(/[\p{Cc}]/gu, '\uFFFD')
      .trim(),
  );
  if (flat.length <= SUMMARY_CHARS + CUT_NOTE_ROOM) return flat;
  return `${flat.slice(0, SUMMARY_CHARS)}… [${flat.length - SUMMARY_CHARS} more characters not shown]`;
}

/** A summary already cut carries its note; this much longer is still taken as whole. */
const CUT_NOTE_ROOM = 48;

/** Writes a whole file atomically (temp + rename), 0600. */
export function writePrivateFile(path: string, data: unknown): void {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, JSON.stringify(data), { mode: 0o600 });
  renameSync(tmp, path);
}

/**
 * Creates `path` with `data` only if it does not exist yet, atomically: readers never see
 * a half-written file, and of two writers exactly one succeeds. Returns false when it existed.
 */
export function createOnce(path: string, data: unknown): boolean {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, JSON.stringify(data), { mode: 0o600 });
  try {
    linkSync(tmp, path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
  }
}

export function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

/**
 * The JSON a PermissionRequest hook prints to answer the dialog (Claude Code 2.1.332,
 * hookSpecificOutput.decision); `updatedInput` answers a question or approves a plan.
 */
export function hookDecisionOutput(decision: 'allow' | 'deny', message?: string, updatedInput?: Record<string, unknown>): Record<string, unknown> {
  return {
    hookSpecificOutput: {
      hookEventName: 'PermissionRequest',
      decision: decision === 'allow' ? { behavior: 'allow', ...(updatedInput ? { updatedInput } : {}) } : { behavior: 'deny', ...(message ? { message } : {}) },
    },
  };
}

/** This process's PID namespace on Linux; undefined elsewhere. */
export function pidNamespace(): string | undefined {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return undefined;
  }
}

/**
 * Whether the hook that wrote `req` is still waiting, by its pid. A hook in another PID
 * namespace (a sandboxed agent) cannot be looked up by pid: it counts as waiting, and its
 * request ends when the hook removes it or its agent's tab is gone.
 */
export function holderAlive(req: Pick<PermissionRequestFile, 'pid' | 'pid_ns'>, alive: (pid: number) => boolean, ownNs = pidNamespace()): boolean {
  if (req.pid_ns && req.pid_ns !== ownNs) return true;
  return alive(req.pid);
}
