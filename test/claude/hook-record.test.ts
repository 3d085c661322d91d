import { describe, expect, it } from 'vitest';
import { deliveryIdIn, promptFingerprint, toHookRecord } from '../../src/claude/hook-record.js';
import { messageHeader } from '../../src/claude/prompt.js';

describe('hook records', () => {
  it('carry a fingerprint of the prompt, never its text', () => {
    const r = toHookRecord({ hook_event_name: 'UserPromptSubmit', session_id: 'x', prompt: 'secret plans' });
    expect(JSON.stringify(r)).not.toContain('secret');
    expect(r.prompt_fp).toBe(promptFingerprint('secret plans'));
  });

  it("carry a fingerprint of a Stop's last assistant text, never the text", () => {
    const r = toHookRecord({ hook_event_name: 'Stop', session_id: 'x', last_assistant_message: 'secret result' });
    expect(JSON.stringify(r)).not.toContain('secret');
    expect(r.reply_fp).toBe(promptFingerprint('secret result'));
  });

  it('match a prompt whose tabs Claude Code turned into spaces', () => {
    expect(promptFingerprint('a\tb\r\nc')).toBe(promptFingerprint('a    b\nc'));
  });

  it('find the delivery id in a tabcrew header', () => {
    const header = messageHeader({ from: 'supervisor', to: 'Agent_1', session: 'app', deliveryId: 'd-abc123def4' });
    expect(deliveryIdIn(`${header}\nhello`)).toBe('d-abc123def4');
    expect(deliveryIdIn('delivery d-abc123def4 without a header')).toBeUndefined();
  });

  it("carry the file a Write/Edit/MultiEdit/NotebookEdit wrote, never a file's content or another tool's input", () => {
    const post = (tool_name: string, tool_input: unknown) => toHookRecord({ hook_event_name: 'PostToolUse', session_id: 'x', tool_name, tool_input });
    expect(post('Write', { file_path: '/r/a.ts', content: 'secret body' }).file_path).toBe('/r/a.ts');
    expect(JSON.stringify(post('Write', { file_path: '/r/a.ts', content: 'secret body' }))).not.toContain('secret');
    expect(post('Edit', { file_path: '/r/b.ts', old_string: 'x', new_string: 'y' }).file_path).toBe('/r/b.ts');
    expect(post('MultiEdit', { file_path: '/r/c.ts', edits: [] }).file_path).toBe('/r/c.ts');
    expect(post('NotebookEdit', { notebook_path: '/r/n.ipynb', new_source: '' }).file_path).toBe('/r/n.ipynb');
    expect(post('Read', { file_path: '/r/a.ts' }).file_path).toBeUndefined();
    expect(post('Bash', { command: 'echo > f' }).file_path).toBeUndefined();
  });
});
