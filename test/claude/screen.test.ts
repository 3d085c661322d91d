import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { classifyScreen, findInputBox, isFirstRunDialog, trustDialogKeys, type ScreenState } from '../../src/claude/screen.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'screens');
const screen = (name: string) => readFileSync(join(dir, name), 'utf8');

// Real `tmux capture-pane -p` captures of Claude Code 2.1.197 (120x40 pane); `_2.1.332` ones of 2.1.332
// (trust_dialog_2.1.332_yes_selected is that capture after one Down; trust_refused_2.1.332 is the
// dialog as left on screen and the lines printed after Enter on "No, exit").
const expected: Record<string, ScreenState> = {
  'idle_startup.txt': 'idle',
  'usage_limit_2.1.332.txt': 'idle', // "⚠ Usage limit reached · Continuing automatically … · Esc to cancel" under the box
  'api_error_429_2.1.332.txt': 'idle', // the box shows "Resend your message to try again" (a placeholder)
  'idle.txt': 'idle',
  'idle_resumed.txt': 'idle',
  'idle_bypass.txt': 'idle', // footer "⏵⏵ bypass permissions on", no "? for shortcuts"
  'idle_after_tool_bypass.txt': 'idle',
  'idle_after_permission_escape.txt': 'idle',
  'idle_prompt_returned_after_escape.txt': 'idle', // Esc during a turn: prompt back in the box, footer blank
  'idle_text_pasted.txt': 'idle', // pasted, Enter not yet processed
  'after_turn.txt': 'idle',
  'after_tool_turn.txt': 'idle',
  'busy.txt': 'busy',
  'busy_first_frame.txt': 'busy',
  'busy_stop_hook.txt': 'busy',
  'busy_tool_running.txt': 'busy',
  'busy_queued.txt': 'busy',
  'trust_dialog.txt': 'trust_dialog',
  'trust_dialog_2.1.332.txt': 'trust_dialog',
  'trust_dialog_2.1.332_yes_selected.txt': 'trust_dialog',
  'trust_refused_2.1.332.txt': 'exited',
  'idle_startup_2.1.332.txt': 'idle', // footer "⏵⏵ auto mode on (shift+tab to cycle)", "◐ medium · /effort" above the box
  'permission_prompt_bash.txt': 'permission_prompt',
  'permission_prompt_write.txt': 'permission_prompt',
  'api_key_prompt.txt': 'api_key_prompt',
  'api_key_prompt_2.1.332.txt': 'api_key_prompt', // unnumbered, "❯ No (recommended)"
  'bypass_warning.txt': 'bypass_warning',
  'bypass_warning_2.1.332.txt': 'bypass_warning', // unnumbered
  'mcp_server_approval.txt': 'mcp_server_approval', // a project .mcp.json server never approved
  'mcp_server_approval_2.1.332.txt': 'mcp_server_approval',
  'external_imports.txt': 'external_imports', // a CLAUDE.md importing a file outside the root
  'external_imports_2.1.332.txt': 'external_imports',
  'onboarding_offline_error.txt': 'onboarding',
  'onboarding_offline_error_2.1.332.txt': 'onboarding', // a HOME without .claude.json, no route to api.anthropic.com
  'rewind_menu.txt': 'rewind_menu',
  'exited.txt': 'exited',
};

describe('classifyScreen', () => {
  it('has an expectation for every fixture', () => {
    expect(
      readdirSync(dir)
        .filter((f) => f.endsWith('.txt'))
        .sort(),
    ).toEqual(Object.keys(expected).sort());
  });

  for (const [file, state] of Object.entries(expected)) {
    it(`${file} → ${state}`, () => {
      expect(classifyScreen(screen(file))).toBe(state);
    });
  }

  it('works when the terminal turned the no-break space into a plain space', () => {
    expect(classifyScreen(screen('idle.txt').replace(/\u00a0/g, ' '))).toBe('idle');
    expect(classifyScreen(screen('busy.txt').replace(/\u00a0/g, ' '))).toBe('busy');
  });

  it('tolerates CRLF and trailing blank lines', () => {
    expect(classifyScreen(screen('idle.txt').replace(/\n/g, '\r\n') + '\n\n\n')).toBe('idle');
  });

  it('is unknown for an empty or foreign screen', () => {
    expect(classifyScreen('')).toBe('unknown');
    expect(classifyScreen('$ ls\nfoo bar\n$ ')).toBe('unknown');
  });

  it('does not take a history prompt for the input box', () => {
    // Drop the input box and footer of an idle screen: what is left are history
    // prompts ("❯ Say hello please", ASCII space) only.
    const ls = screen('after_turn.txt').split('\n');
    const cut = ls.findIndex((l) => l.startsWith('❯\u00a0'));
    expect(findInputBox(ls.slice(0, cut - 1).join('\n'))).toBeUndefined();
  });
});

describe('findInputBox', () => {
  it('reads the box text, the agent name and the footer', () => {
    const box = findInputBox(screen('idle.txt'));
    expect(box).toMatchObject({ text: '', name: 'Agent_1', queued: false });
    expect(box?.footer).toContain('? for shortcuts');
  });

  it('shows text left in the box (e.g. after Esc returned the prompt)', () => {
    expect(findInputBox(screen('idle_prompt_returned_after_escape.txt'))?.text).toBe('Please be slow');
    expect(findInputBox(screen('idle_text_pasted.txt'))?.text).toBe('Say hello please');
  });

  it('treats the queued-messages placeholder as empty', () => {
    expect(findInputBox(screen('busy_queued.txt'))).toMatchObject({ text: '', queued: true, name: 'Agent_2' });
  });

  it('is undefined when a dialog replaced the box', () => {
    expect(findInputBox(screen('trust_dialog.txt'))?.text).toBeUndefined();
    expect(findInputBox(screen('permission_prompt_bash.txt'))?.text).toBeUndefined();
  });
});

describe('trustDialogKeys', () => {
  it('confirms at once when the cursor is on "Yes, I trust this folder" (2.1.197)', () => {
    expect(trustDialogKeys(screen('trust_dialog.txt'))).toEqual(['Enter']);
  });

  it('moves the cursor down to "Yes" first when "No, exit" is the default, and confirms only then (2.1.332)', () => {
    expect(trustDialogKeys(screen('trust_dialog_2.1.332.txt'))).toEqual(['Down']);
    expect(trustDialogKeys(screen('trust_dialog_2.1.332_yes_selected.txt'))).toEqual(['Enter']);
  });

  it('moves up when "Yes" is above the cursor', () => {
    const noSelected = screen('trust_dialog.txt')
      .replace(' ❯ 1. Yes, I trust this folder', '   1. Yes, I trust this folder')
      .replace('   2. No, exit', ' ❯ 2. No, exit');
    expect(trustDialogKeys(noSelected)).toEqual(['Up']);
  });

  it('sends nothing when no trust dialog with a cursor is on screen', () => {
    expect(trustDialogKeys(screen('idle.txt'))).toBeUndefined();
    expect(trustDialogKeys(screen('permission_prompt_bash.txt'))).toBeUndefined();
    expect(trustDialogKeys(screen('trust_dialog_2.1.332.txt').replace(' ❯ No, exit', '   No, exit'))).toBeUndefined();
  });
});

describe('first-run dialogs', () => {
  it('every dialog Claude Code shows before its input box is one of FIRST_RUN_DIALOGS, on both verified versions', () => {
    for (const file of readdirSync(dir).filter((f) =>
      /^(trust_dialog|api_key_prompt|bypass_warning|mcp_server_approval|external_imports|onboarding)/.test(f),
    )) {
      expect(isFirstRunDialog(classifyScreen(screen(file))), file).toBe(true);
    }
    for (const file of ['idle_startup.txt', 'idle_startup_2.1.332.txt', 'busy.txt', 'permission_prompt_bash.txt', 'trust_refused_2.1.332.txt']) {
      expect(isFirstRunDialog(classifyScreen(screen(file))), file).toBe(false);
    }
  });

  it('does not take words of a dialog quoted in the conversation for the dialog', () => {
    const quoted = screen('idle.txt').replace('❯ ', '❯ Detected a custom API key in your environment. New MCP server found in this project: x ');
    expect(classifyScreen(quoted)).toBe('idle');
  });

  it('gives no trust-dialog keys on any other dialog: tabcrew answers none of them', () => {
    for (const file of ['api_key_prompt_2.1.332.txt', 'mcp_server_approval.txt', 'external_imports.txt', 'bypass_warning_2.1.332.txt']) {
      expect(trustDialogKeys(screen(file)), file).toBeUndefined();
    }
  });
});
