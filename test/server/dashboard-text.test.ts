import { describe, expect, it } from 'vitest';
// @ts-expect-error: the page's own module, plain JavaScript for the browser.
import { displayable, excerpt, promptText, unwrapPasted } from '../../src/server/http/dashboard/text.js';

describe('what the dashboard shows of agent text', () => {
  it('a pasted prompt shows the text pasted, not <pasted_content> tags, and without the ADDER+ header', () => {
    const prompt =
      '\n\n<pasted_content id="781f">\n[ADDER+ from supervisor to Agent_2 · session app · delivery d-1]\nline 1\nline 2\n</pasted_content id="781f">\n';
    expect(promptText(prompt)).toBe('line 1\nline 2');
    expect(unwrapPasted('see <pasted_content id=9a>\nx\n</pasted_content id=9a> and more')).toBe('see x and more');
    expect(promptText('[ADDER+ from supervisor to Agent_1 · session app · delivery d-2]\nhello')).toBe('hello');
    expect(promptText('no tags here')).toBe('no tags here');
  });

  it("Claude Code's footer and bullet glyphs become ones the page's fonts have", () => {
    expect(displayable('  ⏵⏵ accept edits on (shift+tab to cycle)')).toBe('  ▸▸ accept edits on (shift+tab to cycle)');
    expect(displayable('⏺ Hello\n  ⎿  Done\n⏸ plan mode on')).toBe('● Hello\n  └  Done\n‖ plan mode on');
    expect(displayable(undefined)).toBe('');
  });

  it('a card excerpt keeps whole words and says where it was cut', () => {
    const reply = 'The build passes now. I changed the parser so that it accepts trailing commas and added tests for it.';
    expect(excerpt(reply, 500)).toBe(reply);
    const short = excerpt(reply, 40);
    expect(short).toBe('The build passes now. I changed the…');
    expect(reply.startsWith(short.slice(0, -1))).toBe(true);
    // One word longer than the excerpt: cut inside it, still marked.
    expect(excerpt('x'.repeat(50), 10)).toBe(`${'x'.repeat(10)}…`);
  });
});
