import { describe, expect, it } from 'vitest';
import type { TabHandle } from '../../src/terminals/backend.js';
import { TmuxError } from '../../src/terminals/tmux-errors.js';
import {
  MAX_COMMAND_BYTES,
  MAX_PASTES_PER_LIST,
  afterStop,
  listOutcome,
  listsApart,
  typingChunks,
  typingReport,
  type PlannedInput,
} from '../../src/terminals/tmux-typing.js';

const paste = (index: number, pane = `%${index}`): PlannedInput => ({ index, pane, buffer: `tabcrew-paste-${index}`, file: `/run/x #1/${index}` });

describe('tmux typing command lists', () => {
  it('loads every buffer before the first paste, tests each pane as the target of its own if-shell, and reports by marker', () => {
    const [chunk, ...more] = typingChunks([paste(0), { index: 1, pane: '%1', keys: ['Enter'] }, paste(2)], 'abc');
    expect(more).toEqual([]);
    expect(chunk!.commands.map((c) => c[0])).toEqual(['load-buffer', 'load-buffer', 'if-shell', 'if-shell', 'if-shell', 'display-message']);
    // load-buffer expands formats in its path: a '#' in it is doubled.
    expect(chunk!.commands[0]).toEqual(['load-buffer', '-b', 'tabcrew-paste-0', '/run/x ##1/0']);
    // The test names the pane (-t): tmux looks up that pane, not every pane of the server per input.
    expect(chunk!.commands[2]).toEqual([
      'if-shell',
      '-F',
      '-t',
      '%0',
      '#{?pane_dead,,#{pane_id}}',
      'paste-buffer -b tabcrew-paste-0 -d -p -r -t %0 ; display-message -p abc-0-1',
      'delete-buffer -b tabcrew-paste-0 ; display-message -p abc-0-0',
    ]);
    expect(chunk!.commands[3]).toEqual([
      'if-shell',
      '-F',
      '-t',
      '%1',
      '#{pane_id}',
      'send-keys -t %1 Enter ; display-message -p abc-1-1',
      'display-message -p abc-1-0',
    ]);
    expect(chunk!.commands[5]).toEqual(['display-message', '-p', 'abc-end']);
    expect(chunk!.commands.flat().some((a) => a.includes('#{S:'))).toBe(false);
  });

  it('a list stopped at a closed tab: that input failed, the unreported ones after it go again without reloading their texts', () => {
    const inputs = [paste(0), paste(1), { index: 2, pane: '%2', keys: ['Enter'] }, paste(3)];
    const stop = afterStop(inputs, new Map([[0, true]]), 'abc');
    expect(stop!.failed.index).toBe(1);
    expect(stop!.rest.inputs.map((i) => i.index)).toEqual([2, 3]);
    // The failed paste's text is let go; the others' are still loaded from the first list.
    expect(stop!.rest.commands.map((c) => c[0])).toEqual(['delete-buffer', 'if-shell', 'if-shell', 'display-message']);
    expect(stop!.rest.commands[0]).toEqual(['delete-buffer', '-b', 'tabcrew-paste-1']);
    expect(afterStop(inputs, new Map(inputs.map((i) => [i.index, true])), 'abc')).toBeUndefined();
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

  it('reads only its own markers from what tmux printed, and whether the list ran to its end', () => {
    const { typed, ended } = typingReport('abc-0-1\nabc-2-0\nabd-1-1\nscreen text abc-1-1\nabc-end\n', 'abc');
    expect([...typed]).toEqual([
      [0, true],
      [2, false],
    ]);
    expect(ended).toBe(true);
    expect(typingReport('abc-0-1\n', 'abc').ended).toBe(false);
  });
});

describe('tmux typing lists side by side', () => {
  it('a fan-out of 40 pastes goes as lists of at most 16 pastes, which may go side by side (each tab in one list)', () => {
    const chunks = typingChunks(
      Array.from({ length: 40 }, (_, i) => paste(i)),
      'abc',
    );
    expect(chunks.map((c) => c.inputs.length)).toEqual([MAX_PASTES_PER_LIST, MAX_PASTES_PER_LIST, 40 - 2 * MAX_PASTES_PER_LIST]);
    expect(listsApart(chunks, (p) => p.pane)).toBe(true);
  });

  it('lists that type into one tab twice do not go side by side (its paste before its Enter)', () => {
    const inputs: PlannedInput[] = [...Array.from({ length: 17 }, (_, i) => paste(i)), { index: 17, pane: '%0', keys: ['Enter'] }];
    const chunks = typingChunks(inputs, 'abc');
    expect(chunks.length).toBe(2);
    expect(listsApart(chunks, (p) => p.pane)).toBe(false);
  });
});

describe('what one tmux typing list says of its inputs', () => {
  const tabOf = (p: PlannedInput): TabHandle => ({ backend: 'tmux', id: `@${p.index}`, pane: p.pane });
  const cantFind = new TmuxError("tmux: can't find pane: %1", 'tab_gone', "can't find pane: %1");

  it('a list run to its end: an input tmux could not find fails alone, its text is let go, nothing is sent again', () => {
    const o = listOutcome([paste(0), paste(1), paste(2)], 'abc-0-1\nabc-2-0\nabc-end\n', cantFind, 'abc', tabOf);
    expect([...o.failed.keys()].sort()).toEqual([1, 2]);
    expect(o.failed.get(1)!.code).toBe('tab_gone');
    expect(o.loaded).toEqual(['tabcrew-paste-1']);
    expect(o.next).toBeUndefined();
  });

  it('a list tmux stopped at a closed tab: that input fails, the rest is sent again', () => {
    const o = listOutcome([paste(0), paste(1), paste(2)], 'abc-0-1\n', cantFind, 'abc', tabOf);
    expect([...o.failed.keys()]).toEqual([1]);
    expect(o.next!.inputs.map((p) => p.index)).toEqual([2]);
    expect(o.loaded).toEqual([]);
  });

  it('a list that failed for another reason (no server) fails every input it did not type', () => {
    const gone = new TmuxError('tmux: no server running', 'tab_gone', 'no server running on /tmp/x');
    const o = listOutcome([paste(0), paste(1)], '', gone, 'abc', tabOf);
    expect([...o.failed.keys()]).toEqual([0, 1]);
    expect(o.next).toBeUndefined();
  });
});
