import { describe, expect, it } from 'vitest';

import { sanitizeForTerminal } from '../../src/terminals/sanitize.js';

describe('sanitizeForTerminal', () => {
  it('keeps ordinary text, newlines and tabs as they are', () => {
    const text = 'Fix the bug in parse()\n\tthen run "npm test" — ok? 😀 שלום $(x) `y` ;';
    expect(sanitizeForTerminal(text)).toBe(text);
  });

  it('turns CRLF and lone CR into LF, so a carriage return cannot submit early', () => {
    expect(sanitizeForTerminal('a\r\nb\rc\n\rd')).toBe('a\nb\nc\n\nd');
  });

  it('shows an escape character as a visible stand-in, so an embedded ESC[201~ cannot end a bracketed paste', () => {
    const out = sanitizeForTerminal('before\x1b[201~after');
    expect(out).toBe('before\u241b[201~after');
    expect(out).not.toContain('\x1b');
  });

  it('defuses OSC sequences (window title, clipboard) and the BEL that ends them', () => {
    const out = sanitizeForTerminal('\x1b]0;pwned\x07\x1b]52;c;ZXZpbA==\x1b\\');
    expect(out).toBe('\u241b]0;pwned\u2407\u241b]52;c;ZXZpbA==\u241b\\');
  });

  it('replaces every other C0 control with its Unicode control picture', () => {
    const controls = Array.from({ length: 32 }, (_, i) => String.fromCharCode(i))
      .filter((c) => c !== '\n' && c !== '\t' && c !== '\r')
      .join('');
    const out = sanitizeForTerminal(controls);
    expect([...out].map((c) => c.codePointAt(0)! - 0x2400)).toEqual([...controls].map((c) => c.charCodeAt(0)));
    expect(sanitizeForTerminal('nul:\0 ctrl-c:\x03')).toBe('nul:\u2400 ctrl-c:\u2403');
  });

  it('replaces DEL and the C1 controls (a single-byte CSI included)', () => {
    expect(sanitizeForTerminal('a\x7fb')).toBe('a\u2421b');
    const c1 = Array.from({ length: 32 }, (_, i) => String.fromCharCode(0x80 + i)).join('');
    expect(sanitizeForTerminal(c1)).toBe('\ufffd'.repeat(32));
    expect(sanitizeForTerminal('\u009b201~')).toBe('\ufffd201~');
  });

  it('leaves no control code except LF and TAB in any input', () => {
    let all = '';
    for (let i = 0; i < 0x200; i++) all += String.fromCharCode(i);
    const out = sanitizeForTerminal(all);
    expect(out).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(out).toContain('\n');
    expect(out).toContain('\t');
  });
});
