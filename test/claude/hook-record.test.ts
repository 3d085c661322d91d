import { describe, expect, it } from 'vitest';
import { deliveryIdIn, promptFingerprint, toHookRecord } from '../../src/claude/hook-record.js';
import { messageHeader } from '../../src/claude/prompt.js';

describe('hook records', () => {
  it('carry a fingerprint of the prompt, never its text', () => {
    const r = toHookRecord({ hook_event_name: 'UserPromptSubmit', session_id: 'x', prompt: 'secret plans' });
    expect(JSON.stringify(r)).not.toContain('secret');
    expect(r.prompt_fp).toBe(promptFingerprint('secret plans'));
  });

  it('match a prompt whose tabs Claude Code turned into spaces', () => {
    expect(promptFingerprint('a\tb\r\nc')).toBe(promptFingerprint('a    b\nc'));
  });

  it('find the delivery id in a tabcrew header', () => {
    const header = messageHeader({ from: 'supervisor', to: 'Agent_1', session: 'app', deliveryId: 'd-abc123def4' });
    expect(deliveryIdIn(`${header}\nhello`)).toBe('d-abc123def4');
    expect(deliveryIdIn('delivery d-abc123def4 without a header')).toBeUndefined();
  });
});
