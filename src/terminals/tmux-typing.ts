import { commandString, exists, formatLiteral, type TmuxCommand } from './tmux-args.js';

/**
 * Typing into several panes with one tmux process (TmuxBackend.typeMany): the command lists
 * and the reading of what tmux reports back. Pure, so the lists can be checked without tmux.
 *
 * tmux stops a command list at its first error, so nothing here can fail on a closed pane:
 * each input is an `if-shell -F` on a format that tests the pane (the format names no target,
 * so it cannot fail), which types and prints `<nonce>-<i>-1`, or prints `<nonce>-<i>-0`.
 */

/** One input, ready to type: keys, or a paste from a tmux buffer loaded from `file`. */
export type PlannedInput = { index: number; pane: string } & ({ keys: readonly string[] } | { buffer: string; file: string });

/**
 * tmux sends a command line to its server as one message of at most 16 KB; a list longer
 * than this is split over several processes.
 */
export const MAX_COMMAND_BYTES = 12_000;

/**
 * Non-empty exactly when the pane (or the window's active pane) exists and its program runs:
 * tmux before 3.4 crashes on a paste into a dead pane. Only for if-shell -F, as `exists`.
 */
export function liveFormat(target: string): string {
  const alive = '#{?pane_dead,,1}';
  return target.startsWith('%') ? `#{S:#{W:#{P:#{?#{==:#{pane_id},${target}},${alive},}}}}` : `#{S:#{W:#{?#{==:#{window_id},${target}},${alive},}}}`;
}

function marker(nonce: string, index: number, typed: 0 | 1): string {
  return commandString('display-message', '-p', `${nonce}-${index}-${typed}`);
}

/** The if-shell that types one input (or only reports that its pane is gone or dead). */
function typeCommand(input: PlannedInput, nonce: string): TmuxCommand {
  const { index, pane } = input;
  if ('keys' in input) {
    return ['if-shell', '-F', exists(pane), `${commandString('send-keys', '-t', pane, ...input.keys)} ; ${marker(nonce, index, 1)}`, marker(nonce, index, 0)];
  }
  // -p: bracketed paste when the program asked for it; -r: LF stays LF; -d: the text does not stay in tmux's buffers.
  return [
    'if-shell',
    '-F',
    liveFormat(pane),
    `${commandString('paste-buffer', '-b', input.buffer, '-d', '-p', '-r', '-t', pane)} ; ${marker(nonce, index, 1)}`,
    `${commandString('delete-buffer', '-b', input.buffer)} ; ${marker(nonce, index, 0)}`,
  ];
}

const bytes = (commands: readonly TmuxCommand[]): number => commands.reduce((n, c) => n + c.reduce((m, a) => m + Buffer.byteLength(a) + 3, 0), 0);

/**
 * The command lists, one per tmux process, in input order. In each, the buffers are loaded
 * first: load-buffer waits for its file, and between a pane's check and its paste nothing
 * may wait (the pane could die meanwhile).
 */
export function typingChunks(inputs: readonly PlannedInput[], nonce: string): { commands: TmuxCommand[]; inputs: PlannedInput[] }[] {
  const chunks: { loads: TmuxCommand[]; types: TmuxCommand[]; inputs: PlannedInput[] }[] = [];
  let size = 0;
  for (const input of inputs) {
    // The path is formatLiteral'd: load-buffer expands formats in it.
    const load: TmuxCommand[] = 'keys' in input ? [] : [['load-buffer', '-b', input.buffer, formatLiteral(input.file)]];
    const type = typeCommand(input, nonce);
    const cost = bytes([...load, type]);
    let chunk = chunks.at(-1);
    if (!chunk || (size + cost > MAX_COMMAND_BYTES && chunk.inputs.length > 0)) {
      chunk = { loads: [], types: [], inputs: [] };
      chunks.push(chunk);
      size = 0;
    }
    chunk.loads.push(...load);
    chunk.types.push(type);
    chunk.inputs.push(input);
    size += cost;
  }
  return chunks.map((c) => ({ commands: [...c.loads, ...c.types], inputs: c.inputs }));
}

/** What tmux printed: for each input index, whether it was typed (1) or its pane was gone (0). */
export function typingReport(stdout: string, nonce: string): Map<number, boolean> {
  const out = new Map<number, boolean>();
  for (const line of stdout.split('\n')) {
    if (!line.startsWith(`${nonce}-`)) continue;
    const m = /^[0-9a-f]+-(\d+)-([01])$/.exec(line);
    if (m) out.set(Number(m[1]), m[2] === '1');
  }
  return out;
}
