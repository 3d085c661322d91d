import type { HookRecord } from '../claude/hook-record.js';
import type { AgentStatus, StatusSource } from '../store/types.js';

export interface DerivedStatus {
  status: AgentStatus;
  source: StatusSource;
  /** Epoch ms when this status began, when known. */
  since?: number;
}

/**
 * The agent state machine driven by Claude Code's hooks: busy from UserPromptSubmit until
 * Stop/StopFailure, waiting for permission from PermissionRequest until the tool runs,
 * idle after SessionStart or Stop, exited after SessionEnd. Records of other Claude
 * sessions (an earlier conversation of the same agent) are ignored.
 */
export function statusFromHooks(records: readonly HookRecord[], claudeSessionId: string): DerivedStatus | undefined {
  let current: DerivedStatus | undefined;
  const set = (status: AgentStatus, ts: number): void => {
    if (current?.status !== status) current = { status, source: 'hook', since: ts };
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
      case 'PermissionRequest':
        set('waiting_permission', r.ts);
        break;
      case 'Notification':
        // Reported flaky upstream for permissions; PermissionRequest is the primary signal.
        if (r.notification_type === 'permission_prompt' && current?.status === 'busy') set('waiting_permission', r.ts);
        break;
      case 'PostToolUse':
      case 'PostToolUseFailure':
        if (current?.status === 'waiting_permission') set('busy', r.ts);
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
  return current;
}

export type ScreenKind = 'trust_dialog' | 'permission_prompt' | 'busy' | 'idle' | 'unknown' | string;

/**
 * How long a hook-reported `busy` must stand before an idle-looking screen may overrule it:
 * an Esc interrupt fires no hook, but a screen read in the instant between the prompt's
 * submission and the spinner appearing must not be mistaken for idle.
 */
export const BUSY_SCREEN_OVERRIDE_MS = 4000;

/** Combines the hook verdict with what the screen shows, when the hooks leave doubt. */
export function withScreen(hooks: DerivedStatus | undefined, screen: ScreenKind, now: number): DerivedStatus {
  if (!hooks) {
    if (screen === 'idle') return { status: 'idle', source: 'screen', since: now };
    if (screen === 'permission_prompt') return { status: 'waiting_permission', source: 'screen', since: now };
    if (screen === 'busy') return { status: 'busy', source: 'screen', since: now };
    return { status: 'starting', source: 'screen', since: now };
  }
  if (hooks.status === 'busy' && screen === 'permission_prompt') {
    return { status: 'waiting_permission', source: 'screen', since: now };
  }
  // Answering a permission dialog with "No" or Esc fires no hook either.
  if ((hooks.status === 'busy' || hooks.status === 'waiting_permission') && screen === 'idle' && now - (hooks.since ?? now) > BUSY_SCREEN_OVERRIDE_MS) {
    return { status: 'idle', source: 'screen', since: now };
  }
  return hooks;
}

/** Whether the hooks leave enough doubt that the screen is worth a look. */
export function needsScreen(hooks: DerivedStatus | undefined, now: number): boolean {
  if (!hooks) return true;
  return (hooks.status === 'busy' || hooks.status === 'waiting_permission') && now - (hooks.since ?? now) > BUSY_SCREEN_OVERRIDE_MS;
}
