import { describe, expect, it } from 'vitest';

import { formatLiteral, tmuxArg, tmuxCommandLine } from '../../src/terminals/tmux-args.js';
import { unvis } from '../../src/terminals/tmux-text.js';

describe('tmux arguments', () => {
  it('an argument ending in ";" gets a backslash so tmux does not end the command there', () => {
    expect(tmuxArg('rm -rf x;')).toBe('rm -rf x\\;');
    expect(tmuxArg(';')).toBe('\\;');
    // tmux turns a trailing `\;` into `;`, so `a\;` must become `a\\;` to stay `a\;`.
    expect(tmuxArg('a\\;')).toBe('a\\\\;');
  });

  it('other arguments pass unchanged', () => {
    for (const arg of ['', 'plain', 'a;b', '; a', 'back\\', '#{x}', '$(x)', '-t']) expect(tmuxArg(arg)).toBe(arg);
  });

  it('commands are joined by a lone ";" and each of their arguments is escaped', () => {
    expect(
      tmuxCommandLine([
        ['set-option', '-w', '@tag', 'x;'],
        ['rename-window', '--', ';'],
      ]),
    ).toEqual(['set-option', '-w', '@tag', 'x\\;', ';', 'rename-window', '--', '\\;']);
  });

  it('an empty command is refused rather than producing a stray separator', () => {
    expect(() => tmuxCommandLine([['list-panes'], []])).toThrow(/empty/);
  });

  it('a "#" in text tmux expands as a format is doubled', () => {
    expect(formatLiteral('#{window_id} #(rm -rf ~) ##')).toBe('##{window_id} ##(rm -rf ~) ####');
  });

  it('window names read back from tmux are decoded from its vis(3) escapes', () => {
    expect(unvis('a\\\\b\\tc\\nd\\033e\\037f')).toBe('a\\b\tc\nd\x1be\x1ff');
    expect(unvis('caf\\303\\251 😀')).toBe('café 😀');
    expect(unvis('no escapes')).toBe('no escapes');
  });
});
