import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { boundaryVerdict } from './boundary.js';
import { toHookRecord } from './hook-record.js';

/*
 * What a PreToolUse hook answers, from Claude Code's hook JSON: the session boundary's verdict
 * (boundary.ts), the spool line, and what goes to stdout. One source for both places that
 * answer: the node hook program (src/hook.ts) and the supervisor, which answers the perl hook
 * over the agent socket (claude/hook-commands.ts, supervisor/tool-guard.ts). node:fs and
 * node:path only: the hook bundles it.
 */

/** Claude Code's hook JSON, parsed; text that is no JSON becomes an input that says only which event it was. */
export function parseHookInput(text: string, tooLarge = false): { input: Record<string, unknown>; unreadable?: string } {
  try {
    return { input: JSON.parse(text) as Record<string, unknown> };
  } catch (e) {
    // Only a PreToolUse may answer on stdout (inside a JSON string these quotes would be escaped).
    const event = /"hook_event_name"\s*:\s*"PreToolUse"/.test(text) ? 'PreToolUse' : 'unknown';
    return { input: { hook_event_name: event }, unreadable: tooLarge ? 'the call is larger than 64 MB' : (e as Error).message };
  }
}

/** The hook program's own files: `hook` (dist/hook.cjs) and the modules tsc emits beside it. */
export function hookProgramFiles(hook: string | undefined): string[] {
  if (!hook) return [];
  const dist = dirname(hook);
  return [
    hook,
    ...['hook.cjs', 'hook.js'].map((f) => join(dist, f)),
    ...['boundary.js', 'events.js', 'hook-record.js', 'permission-hold.js', 'permission-files.js', 'pre-tool-use.js', 'request-kinds.js', 'usage-nudge.js'].map(
      (f) => join(dist, 'claude', f),
    ),
    join(dist, 'audit', 'redact.js'),
  ];
}

/** What the verdict needs to know of the agent: the values its hook environment carries. */
export interface GuardContext {
  /** The boundaries file (TABCREW_BOUNDARIES); absent: security level LOW, nothing is decided. */
  boundariesFile?: string;
  /** The agent's session id (TABCREW_SESSION). */
  session: string;
  home: string;
  /** The hook program (TABCREW_HOOK): the guard protects its own files. */
  hook?: string;
  /** Where a call without an absolute `cwd` is judged from (the hook's own cwd: the agent's). */
  cwd?: string;
}

/** A reason to deny the call, or undefined. A guard that fails, or input it cannot read, refuses. */
export function preToolUseReason(input: Record<string, unknown>, unreadable: string | undefined, ctx: GuardContext): string | undefined {
  if (input.hook_event_name !== 'PreToolUse' || !ctx.boundariesFile) return undefined;
  if (unreadable) return `tabcrew: the session boundary check could not read this tool call (${unreadable}); the call was refused.`;
  try {
    return boundaryVerdict(input, {
      session: ctx.session,
      boundariesFile: ctx.boundariesFile,
      home: ctx.home,
      cwd: ctx.cwd,
      read: (f) => readFileSync(f, 'utf8'),
      // The guard itself: an agent that rewrote it would be free.
      protect: hookProgramFiles(ctx.hook),
    });
  } catch (e) {
    // A guard that fails must not wave the call through.
    return `tabcrew: the session boundary check failed (${(e as Error).message}); the call was refused. Tell the supervisor.`;
  }
}

/** The spool line of one event (with its newline): the record, and the denial when there was one. */
export function spoolLine(input: Record<string, unknown>, reason: string | undefined, now: number, launch: string | undefined): string {
  const record = { ...toHookRecord(input, now, launch), ...(reason ? { decision: 'deny' as const } : {}) };
  return JSON.stringify(record) + '\n';
}

/** What the hook prints: the deny decision Claude Code hands to the model as the tool's error, or nothing. */
export function hookStdout(reason: string | undefined): string {
  return reason ? JSON.stringify({ hookSpecificOutput: { hookEventName: 'PreToolUse', permissionDecision: 'deny', permissionDecisionReason: reason } }) : '';
}

/** The PreToolUse `tool_use_id` the usage count waits for (usage-nudge.ts). */
export function toolUseIdOf(input: Record<string, unknown>): string | undefined {
  return input.hook_event_name === 'PreToolUse' && typeof input.tool_use_id === 'string' ? input.tool_use_id : undefined;
}
