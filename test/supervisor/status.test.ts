import { describe, expect, it } from 'vitest';
import type { HookRecord } from '../../src/claude/hook-record.js';
import { statusFromHooks } from '../../src/claude/hook-status.js';
import { BUSY_SCREEN_OVERRIDE_MS, needsScreen, withScreen } from '../../src/supervisor/observer.js';

const ID = '11111111-1111-1111-1111-111111111111';
const rec = (event: string, ts: number, extra: Partial<HookRecord> = {}): HookRecord => ({ event, ts, session_id: ID, ...extra });

describe('the agent state machine from hooks', () => {
  it('an agent with no hook event yet has no hook status', () => {
    expect(statusFromHooks([], ID)).toBeUndefined();
  });

  it('goes starting → idle → busy → idle through SessionStart, UserPromptSubmit and Stop', () => {
    const records = [rec('SessionStart', 1), rec('UserPromptSubmit', 2)];
    expect(statusFromHooks(records, ID)).toEqual({ status: 'busy', source: 'hook', since: 2 });
    records.push(rec('Stop', 3));
    expect(statusFromHooks(records, ID)?.status).toBe('idle');
  });

  it('waits for permission from PermissionRequest until the tool has run', () => {
    const records = [rec('SessionStart', 1), rec('UserPromptSubmit', 2), rec('PermissionRequest', 3)];
    expect(statusFromHooks(records, ID)?.status).toBe('waiting_permission');
    records.push(rec('PostToolUse', 4));
    expect(statusFromHooks(records, ID)?.status).toBe('busy');
  });

  it('waits for an answer to a question, or for a plan approval, until the tool ran or the answer was given over MCP', () => {
    const ask = [
      rec('UserPromptSubmit', 1),
      rec('PermissionRequest', 2, { tool_name: 'AskUserQuestion' }),
      rec('Notification', 3, { notification_type: 'permission_prompt' }),
    ];
    expect(statusFromHooks(ask, ID)?.status).toBe('waiting_answer');
    expect(statusFromHooks([...ask, rec('PostToolUse', 4)], ID)?.status).toBe('busy');
    const plan = [rec('UserPromptSubmit', 1), rec('PermissionRequest', 2, { tool_name: 'ExitPlanMode' })];
    expect(statusFromHooks(plan, ID)?.status).toBe('waiting_plan_approval');
    // A rejected plan fires no other hook: the hook's own PermissionDecided record moves it on.
    expect(statusFromHooks([...plan, rec('PermissionDecided', 3, { decision: 'deny' })], ID)?.status).toBe('busy');
  });

  it('a failed turn (StopFailure) leaves the agent idle, SessionEnd leaves it exited', () => {
    expect(statusFromHooks([rec('UserPromptSubmit', 1), rec('StopFailure', 2)], ID)?.status).toBe('idle');
    expect(statusFromHooks([rec('SessionStart', 1), rec('SessionEnd', 2)], ID)?.status).toBe('exited');
  });

  it('ignores events of an earlier conversation of the same agent', () => {
    const old = rec('UserPromptSubmit', 5, { session_id: 'old' });
    expect(statusFromHooks([rec('SessionStart', 1), old], ID)?.status).toBe('idle');
  });

  it('keeps the time a status began while later events repeat it', () => {
    expect(statusFromHooks([rec('UserPromptSubmit', 1), rec('PostToolUse', 2)], ID)?.since).toBe(1);
  });
});

describe('the screen as a fallback', () => {
  const busySince = (ms: number) => ({ status: 'busy' as const, source: 'hook' as const, since: ms });

  it('an idle screen overrules a long busy (an Esc interrupt fires no hook)', () => {
    const now = 100_000;
    expect(withScreen(busySince(now - BUSY_SCREEN_OVERRIDE_MS - 1), 'idle', now)).toMatchObject({ status: 'idle', source: 'screen' });
  });

  it('an idle screen right after a submitted prompt does not', () => {
    const now = 100_000;
    expect(withScreen(busySince(now - 100), 'idle', now)).toMatchObject({ status: 'busy', source: 'hook' });
    expect(needsScreen(busySince(now - 100), now)).toBe(false);
  });

  it('without hooks, a trust dialog means still starting and a prompt means idle', () => {
    expect(withScreen(undefined, 'trust_dialog', 1).status).toBe('starting');
    expect(withScreen(undefined, 'idle', 1)).toMatchObject({ status: 'idle', source: 'screen' });
  });
});
