import type { HookRecord } from './hook-record.js';
import { isWaitingOnPerson, type AgentStatus, type StatusSource } from '../store/types.js';

export interface DerivedStatus {
  status: AgentStatus;
  source: StatusSource;
  /** Epoch ms when this status began, when known. */
  since?: number;
}

/**
 * The agent state machine driven by Claude Code's hooks: busy from UserPromptSubmit until
 * Stop/StopFailure, waiting for permission (or an answer, or a plan approval) from
 * PermissionRequest until the tool runs,
 * idle after SessionStart or Stop, exited after SessionEnd. Records of other Claude
 * sessions (an earlier conversation of the same agent) are ignored.
 */
export function statusFromHooks(records: readonly HookRecord[], claudeSessionId: string): DerivedStatus | undefined {
  return hookSteps(records, claudeSessionId).at(-1);
}

/**
 * Every status the hooks moved through in `records`, in order, starting from `start` (the
 * status before the first of them): what a look that comes only at the end would not see.
 */
export function hookSteps(records: readonly HookRecord[], claudeSessionId: string, start?: DerivedStatus): DerivedStatus[] {
  const steps: DerivedStatus[] = [];
  let current = start;
  const set = (status: AgentStatus, ts: number): void => {
    if (current?.status === status) return;
    current = { status, source: 'hook', since: ts };
    steps.push(current);
  };
  for (const r of records) {
    if (r.session_id !== claudeSessionId) continue;
    switch (r.event) {
      case 'SessionStart':
        set('idle', r.ts);
        break;
      case 'UserPromptSubmit':
        set('busy', r.ts);
        break;
      // A question (AskUserQuestion) and a plan approval (ExitPlanMode) ask through the same dialog.
      case 'PermissionRequest':
        set(r.tool_name === 'AskUserQuestion' ? 'waiting_answer' : r.tool_name === 'ExitPlanMode' ? 'waiting_plan_approval' : 'waiting_permission', r.ts);
        break;
      case 'Notification':
        // Reported flaky upstream for permissions; PermissionRequest is the primary signal.
        if (r.notification_type === 'permission_prompt' && current?.status === 'busy') set('waiting_permission', r.ts);
        break;
      // PermissionDecided: written by the PermissionRequest hook once the supervisor answered (a denied call fires no other hook).
      case 'PostToolUse':
      case 'PostToolUseFailure':
      case 'PermissionDecided':
        if (current && isWaitingOnPerson(current.status)) set('busy', r.ts);
        break;
      case 'Stop':
      case 'StopFailure':
        set('idle', r.ts);
        break;
      case 'SessionEnd':
        set('exited', r.ts);
        break;
    }
  }
  return steps;
}
