import { describe, expect, it } from 'vitest';
import { MAX_COMMAND_BYTES, liveFormat, typingChunks, typingReport, type PlannedInput } from '../../src/terminals/tmux-typing.js';

const paste = (index: number, pane = `%${index}`): PlannedInput => ({ index, pane, buffer: `tabcrew-paste-${index}`, file: `/run/x #1/${index}` });

describe('tmux typing command lists', () => {
  it('loads every buffer before the first paste, and pastes each only into its live pane, reporting by marker', () => {
    const [chunk, ...more] = typingChunks([paste(0), { index: 1, pane: '%1', keys: ['Enter'] }, paste(2)], 'abc');
    expect(more).toEqual([]);
    expect(chunk!.commands.map((c) => c[0])).toEqual(['load-buffer', 'load-buffer', 'if-shell', 'if-shell', 'if-shell']);
    // load-buffer expands formats in its path: a '#' in it is doubled.
    expect(chunk!.commands[0]).toEqual(['load-buffer', '-b', 'tabcrew-paste-0', '/run/x ##1/0']);
    expect(chunk!.commands[2]).toEqual([
      'if-shell',
      '-F',
      liveFormat('%0'),
      'paste-buffer -b tabcrew-paste-0 -d -p -r -t %0 ; display-message -p abc-0-1',
      'delete-buffer -b tabcrew-paste-0 ; display-message -p abc-0-0',
    ]);
    expect(chunk!.commands[3]![3]).toBe('send-keys -t %1 Enter ; display-message -p abc-1-1');
  });

  it('a list longer than one tmux message is split, each part carrying the loads of its own pastes', () => {
    const inputs = Array.from({ length: 200 }, (_, i) => paste(i));
    const chunks = typingChunks(inputs, 'abc');
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.flatMap((c) => c.inputs.map((i) => i.index))).toEqual(inputs.map((i) => i.index));
    for (const c of chunks) {
      expect(c.commands.reduce((n, cmd) => n + cmd.join(' ').length, 0)).toBeLessThanOrEqual(MAX_COMMAND_BYTES);
      expect(c.commands.filter((cmd) => cmd[0] === 'load-buffer').map((cmd) => cmd[2])).toEqual(c.inputs.map((i) => `tabcrew-paste-${i.index}`));
    }
  });

  it('reads only its own markers from what tmux printed', () => {
    const report = typingReport('abc-0-1\nabc-2-0\nabd-1-1\nscreen text abc-1-1\n', 'abc');
    expect([...report]).toEqual([
      [0, true],
      [2, false],
    ]);
  });
});
