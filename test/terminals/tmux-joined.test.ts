import { describe, expect, it } from 'vitest';
import { TerminalError } from '../../src/terminals/backend.js';
import type { TmuxCommand } from '../../src/terminals/tmux-args.js';
import { JoinedRuns, MAX_JOINED_BYTES, sizeOf, type TmuxOutcome } from '../../src/terminals/tmux-joined.js';

/**
 * A tmux that runs command lists as tmux does: in order, each `display-message -p X` printing
 * X, `say X` printing X, and `fail` stopping the whole list with an error.
 */
function fakeTmux(error: () => unknown = () => new TerminalError("tmux: can't find session", 'failed')) {
  const processes: TmuxCommand[][] = [];
  const exec = async (commands: readonly TmuxCommand[]): Promise<TmuxOutcome> => {
    processes.push([...commands]);
    const out: string[] = [];
    for (const [verb, ...args] of commands) {
      if (verb === 'fail') return { stdout: out.map((l) => `${l}\n`).join(''), error: error() };
      out.push(args.at(-1)!);
    }
    return { stdout: out.map((l) => `${l}\n`).join('') };
  };
  return { exec, processes };
}

/** What a list printed, or its failure's message with what it printed before it. */
const shown = (o: TmuxOutcome): string => (o.error === undefined ? o.stdout : `${(o.error as Error).message} after ${JSON.stringify(o.stdout)}`);

/** Five lists on one target, each a third of tmux's limit on a command line: more than one process's worth. */
function fiveLongLists(joined: JoinedRuns): Promise<{ stdout: string }[]> {
  const long = 'x'.repeat(MAX_JOINED_BYTES / 3);
  return Promise.all(
    [1, 2, 3, 4, 5].map((i) =>
      joined.run('s', [
        ['set-option', long],
        ['say', `w${i}`],
      ]),
    ),
  );
}

describe('command lists joined into one tmux process', () => {
  it('lists sent together run as one process, each given its own output', async () => {
    const tmux = fakeTmux();
    const joined = new JoinedRuns(tmux.exec);
    const outs = await Promise.all(
      [1, 2, 3].map((i) =>
        joined.run('s', [
          ['say', `window ${i}`],
          ['set-option', 'x', 'y'],
        ]),
      ),
    );
    expect(outs.map(shown)).toEqual(['window 1\ny\n', 'window 2\ny\n', 'window 3\ny\n']);
    expect(tmux.processes).toHaveLength(1);
  });

  it('a list sent alone runs alone, as it is', async () => {
    const tmux = fakeTmux();
    expect(await new JoinedRuns(tmux.exec).run('s', [['say', 'only']])).toEqual({ stdout: 'only\n' });
    expect(tmux.processes).toEqual([[['say', 'only']]]);
  });

  it('the list that stops tmux fails alone, with what it printed before (a window it made): the ones before keep their output, the ones after are sent again', async () => {
    const tmux = fakeTmux();
    const joined = new JoinedRuns(tmux.exec);
    const outcomes = await Promise.all([
      joined.run('s', [['say', 'a']]),
      joined.run('s', [['say', 'b'], ['fail']]),
      joined.run('s', [['say', 'c']]),
      joined.run('s', [['say', 'd']]),
    ]);
    expect(outcomes.map(shown)).toEqual(['a\n', `tmux: can't find session after "b\\n"`, 'c\n', 'd\n']);
    // The two after the failure ran once, together, in a second process.
    expect(tmux.processes).toHaveLength(2);
    expect(tmux.processes[1]!.filter(([v]) => v === 'say').map((c) => c[1])).toEqual(['c', 'd']);
  });

  it('a failure the lists share (their session is gone) fails them all at once, none sent again', async () => {
    const tmux = fakeTmux();
    const joined = new JoinedRuns(tmux.exec, (e) => /can't find session/.test((e as Error).message));
    const outcomes = await Promise.all([joined.run('s', [['say', 'a']]), joined.run('s', [['say', 'b'], ['fail']]), joined.run('s', [['say', 'c']])]);
    expect(outcomes.map(shown)).toEqual(['a\n', `tmux: can't find session after "b\\n"`, `tmux: can't find session after ""`]);
    expect(tmux.processes).toHaveLength(1);
  });

  it("lists go in as many processes as tmux's limit on a command line's length needs", async () => {
    const tmux = fakeTmux();
    const joined = new JoinedRuns(tmux.exec);
    const outs = await fiveLongLists(joined);
    expect(outs.map((o) => o.stdout.split('\n').at(-2))).toEqual(['w1', 'w2', 'w3', 'w4', 'w5']);
    expect(tmux.processes.length).toBeGreaterThanOrEqual(3);
    for (const p of tmux.processes) expect(p.flat().join(' ').length).toBeLessThan(MAX_JOINED_BYTES);
  });

  it('the processes of one target run one after another, in the order asked (the first may make the session the others open windows in)', async () => {
    let running = 0;
    let most = 0;
    const tmux = fakeTmux();
    const exec = async (commands: readonly TmuxCommand[]) => {
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      return tmux.exec(commands);
    };
    const joined = new JoinedRuns(exec);
    const outs = await fiveLongLists(joined);
    expect(outs.map((o) => o.stdout.split('\n').at(-2))).toEqual(['w1', 'w2', 'w3', 'w4', 'w5']);
    expect(tmux.processes.length).toBeGreaterThanOrEqual(3);
    expect(most).toBe(1);
    expect(tmux.processes.flatMap((p) => p.filter(([v]) => v === 'say').map((c) => c[1]))).toEqual(['w1', 'w2', 'w3', 'w4', 'w5']);
  });

  it('sizeOf counts what the tmux client counts: each argument with its NUL, and each `;` between commands', () => {
    expect(sizeOf([['a', 'bc']])).toBe(5);
    expect(sizeOf([['a'], ['bc;']])).toBe(2 + 2 + 5);
  });

  it('lists on different targets go in processes of their own', async () => {
    const tmux = fakeTmux();
    const joined = new JoinedRuns(tmux.exec);
    const outs = await Promise.all([joined.run('s', [['say', 'a']]), joined.run('t', [['say', 'b']]), joined.run('s', [['say', 'c']])]);
    expect(outs.map(shown)).toEqual(['a\n', 'b\n', 'c\n']);
    expect(tmux.processes.map((p) => p.filter(([v]) => v === 'say').map((c) => c[1]))).toEqual([['a', 'c'], ['b']]);
  });

  it('a tmux that is missing fails every list at once, none sent again', async () => {
    const tmux = fakeTmux(() => new TerminalError('tmux is not installed', 'not_running'));
    const joined = new JoinedRuns(tmux.exec);
    const outcomes = await Promise.all([joined.run('s', [['fail']]), joined.run('s', [['say', 'b']])]);
    expect(outcomes.map(shown)).toEqual(['tmux is not installed after ""', 'tmux is not installed after ""']);
    expect(tmux.processes).toHaveLength(1);
  });
});
