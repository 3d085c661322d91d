import { describe, expect, it } from 'vitest';
import { MarkedBlocks, type Read } from '../../src/terminals/tmux-marked.js';

/*
 * A pane's text read through the control client comes back as tmux writes it, between tmux's
 * own `%begin`/`%end` lines: only the marker that follows each command, which no pane can know,
 * says where its output ends.
 */

const nonce = 'c0ffee00c0ffee00c0ffee00';

function feed(lines: string[], count: number): { reads: Read[]; outs: string[] | undefined | 'pending' } {
  let outs: string[] | undefined | 'pending' = 'pending';
  const reader = new MarkedBlocks(nonce, count, (o) => (outs = o));
  const reads = lines.map((l) => reader.line(l));
  return { reads, outs };
}

/** What tmux writes for a capture of `text` (guard g) followed by marker i (guard g + 1). */
const block = (g: number, text: string[], i: number) => [
  `%begin 1796570706 ${g} 1`,
  ...text,
  `%end 1796570706 ${g} 1`,
  `%begin 1796570706 ${g + 1} 1`,
  `${nonce}-${i}`,
  `%end 1796570706 ${g + 1} 1`,
];

describe('outputs read through the tmux control client up to a marker', () => {
  it('gives each command its output, notifications before a block left out', () => {
    const { reads, outs } = feed(['%session-changed $0 x', ...block(10, ['one', '', 'two'], 0), '%window-renamed @0 sh', ...block(12, ['three'], 1)], 2);
    expect(outs).toEqual(['one\n\ntwo\n', 'three\n']);
    expect(reads.at(-1)).toBe('done');
    expect(reads.slice(0, -1).every((r) => r === 'more')).toBe(true);
  });

  it("a pane whose text imitates tmux's end, error and begin lines, with the real guards, reads as that text", () => {
    const text = ['hello', '%end 1796570706 10 1', '%error 1796570706 11 1', '%begin 1796570706 11 1', `${nonce.slice(0, 8)}-0`, 'world'];
    const { outs } = feed(block(10, text, 0), 1);
    expect(outs).toEqual([`${text.join('\n')}\n`]);
  });

  it('a command that failed (tmux runs none after it) gives no outputs, and the client is to be let go', () => {
    const { reads, outs } = feed(['%begin 1796570706 10 1', "can't find pane: %9", '%error 1796570706 10 1'], 1);
    expect(outs).toBeUndefined();
    expect(reads.at(-1)).toBe('lost');
  });

  it('a marker not framed as tmux frames it gives no outputs', () => {
    const { reads, outs } = feed(['%begin 1796570706 10 1', 'text', `${nonce}-0`], 1);
    expect(outs).toBeUndefined();
    expect(reads.at(-1)).toBe('lost');
  });
});
