import { TerminalError, type TabHandle } from './backend.js';
import { commandString, formatLiteral, type TmuxCommand } from './tmux-args.js';
import { asTabGone, hasStderr } from './tmux-errors.js';

/**
 * Typing into several panes with one tmux process (TmuxBackend.typeMany): the command lists
 * and the reading of what tmux reports back. Pure, so the lists can be checked without tmux.
 *
 * Each input is an `if-shell -F -t <its pane>` that types (a paste only while the pane's
 * program runs: tmux before 3.4 crashes on a paste into a dead pane) and prints
 * `<nonce>-<i>-1`, or prints `<nonce>-<i>-0` when the pane is gone or dead; each list ends by
 * printing `<nonce>-end`. tmux 3.3 evaluates the test of a pane that is gone without it (empty:
 * the "gone" branch) and goes on with the list. Should a tmux refuse that target instead, the
 * list stops there: that input failed, and the ones after it go in another list (`afterStop`).
 * The test used to name no target (a format over every pane, which cannot fail), but tmux
 * evaluated it over every pane of the server for each input: 64 inputs among 67 panes cost
 * it ~30 ms per list, in the middle of a fan-out.
 */

/** One input, ready to type: keys, or a paste from a tmux buffer loaded from `file`. */
export type PlannedInput = { index: number; pane: string } & ({ keys: readonly string[] } | { buffer: string; file: string });

/**
 * tmux sends a command line to its server as one message of at most 16 KB; a list longer
 * than this is split over several processes.
 */
export const MAX_COMMAND_BYTES = 12_000;

/**
 * Pastes per list. tmux has each text read by the client that sent the list, one after the
 * other, a round trip between the two processes each: on a loaded machine 64 of them in one
 * list took 100–250 ms. Lists of at most this many go to tmux side by side (TmuxBackend.typeMany).
 */
export const MAX_PASTES_PER_LIST = 16;

function marker(nonce: string, index: number, typed: 0 | 1): TmuxCommand {
  return ['display-message', '-p', `${nonce}-${index}-${typed}`];
}

const endMarker = (nonce: string): TmuxCommand => ['display-message', '-p', `${nonce}-end`];

/** The if-shell that types one input, or only reports that its pane is gone or dead. */
function typeCommand(input: PlannedInput, nonce: string): TmuxCommand {
  const { index, pane } = input;
  const gone = commandString(...marker(nonce, index, 0));
  const typed = commandString(...marker(nonce, index, 1));
  if ('keys' in input) return ['if-shell', '-F', '-t', pane, '#{pane_id}', `${commandString('send-keys', '-t', pane, ...input.keys)} ; ${typed}`, gone];
  // -p: bracketed paste when the program asked for it; -r: LF stays LF; -d: the text does not stay in tmux's buffers.
  return [
    'if-shell',
    '-F',
    '-t',
    pane,
    '#{?pane_dead,,#{pane_id}}',
    `${commandString('paste-buffer', '-b', input.buffer, '-d', '-p', '-r', '-t', pane)} ; ${typed}`,
    `${commandString('delete-buffer', '-b', input.buffer)} ; ${gone}`,
  ];
}

const bytes = (commands: readonly TmuxCommand[]): number => commands.reduce((n, c) => n + c.reduce((m, a) => m + Buffer.byteLength(a) + 3, 0), 0);

/**
 * The command lists, one per tmux process, in input order (past MAX_COMMAND_BYTES or
 * MAX_PASTES_PER_LIST pastes a list ends). In each, the buffers are loaded
 * first: load-buffer waits for its file, and between a pane's check and its paste nothing
 * may wait (the pane could die meanwhile).
 */
export function typingChunks(inputs: readonly PlannedInput[], nonce: string): { commands: TmuxCommand[]; inputs: PlannedInput[] }[] {
  const chunks: { loads: TmuxCommand[]; types: TmuxCommand[]; inputs: PlannedInput[] }[] = [];
  let size = 0;
  let pastes = 0;
  for (const input of inputs) {
    // The path is formatLiteral'd: load-buffer expands formats in it.
    const load: TmuxCommand[] = 'keys' in input ? [] : [['load-buffer', '-b', input.buffer, formatLiteral(input.file)]];
    const type = typeCommand(input, nonce);
    const cost = bytes([...load, type]);
    let chunk = chunks.at(-1);
    const full = load.length > 0 && pastes >= MAX_PASTES_PER_LIST;
    if (!chunk || ((size + cost > MAX_COMMAND_BYTES || full) && chunk.inputs.length > 0)) {
      chunk = { loads: [], types: [], inputs: [] };
      chunks.push(chunk);
      size = 0;
      pastes = 0;
    }
    pastes += load.length;
    chunk.loads.push(...load);
    chunk.types.push(type);
    chunk.inputs.push(input);
    size += cost;
  }
  return chunks.map((c) => ({ commands: [...c.loads, ...c.types, endMarker(nonce)], inputs: c.inputs }));
}

/** Whether no tab (`tabOf` an input) is typed into by two of the lists: then they may go side by side. */
export function listsApart(lists: readonly { inputs: readonly PlannedInput[] }[], tabOf: (p: PlannedInput) => string): boolean {
  const listOf = new Map<string, number>();
  for (const [n, list] of lists.entries()) {
    for (const p of list.inputs) {
      const tab = tabOf(p);
      if ((listOf.get(tab) ?? n) !== n) return false;
      listOf.set(tab, n);
    }
  }
  return true;
}

/**
 * After a list stopped before its end (a tmux that refused the target of an input whose pane
 * is gone): that input (the first one `report` does not name), and the list that types the
 * unreported inputs after it, whose buffers are already loaded (the failed paste's own buffer
 * is deleted first). Undefined when nothing is left to type.
 */
export function afterStop(
  inputs: readonly PlannedInput[],
  report: ReadonlyMap<number, boolean>,
  nonce: string,
): { failed: PlannedInput; rest: { commands: TmuxCommand[]; inputs: PlannedInput[] } } | undefined {
  const at = inputs.findIndex((p) => !report.has(p.index));
  if (at < 0) return undefined;
  const failed = inputs[at]!;
  const rest = inputs.slice(at + 1).filter((p) => !report.has(p.index));
  const cleanup: TmuxCommand[] = 'buffer' in failed ? [['delete-buffer', '-b', failed.buffer]] : [];
  return { failed, rest: { commands: [...cleanup, ...rest.map((p) => typeCommand(p, nonce)), endMarker(nonce)], inputs: rest } };
}

/** What tmux printed: for each input index, whether it was typed (1) or its pane was gone (0); whether the list ran to its end. */
export function typingReport(stdout: string, nonce: string): { typed: Map<number, boolean>; ended: boolean } {
  const typed = new Map<number, boolean>();
  let ended = false;
  for (const line of stdout.split('\n')) {
    if (!line.startsWith(`${nonce}-`)) continue;
    if (line === `${nonce}-end`) ended = true;
    const m = /^[0-9a-f]+-(\d+)-([01])$/.exec(line);
    if (m) typed.set(Number(m[1]), m[2] === '1');
  }
  return { typed, ended };
}

/**
 * What one list's run (its stdout and error) says of its inputs: the errors of those that
 * failed, the buffers of failed pastes still loaded in tmux (to delete), and the list to send
 * next when tmux stopped this one at a closed tab.
 */
export function listOutcome(
  inputs: readonly PlannedInput[],
  stdout: string,
  error: unknown,
  nonce: string,
  tabOf: (p: PlannedInput) => TabHandle,
): { failed: Map<number, TerminalError>; loaded: string[]; next?: { commands: TmuxCommand[]; inputs: PlannedInput[] } } {
  const { typed, ended } = typingReport(stdout, nonce);
  const failed = new Map<number, TerminalError>();
  for (const p of inputs) {
    if (typed.get(p.index) === false)
      failed.set(p.index, new TerminalError(`tab ${tabOf(p).id} is gone or its program has ended; nothing was typed`, 'tab_gone'));
  }
  const stop = afterStop(inputs, typed, nonce);
  if (!stop) return { failed, loaded: [] };
  if (ended || !error || !hasStderr(error, /can't find (pane|window)/)) {
    // The list ran to its end (an input whose pane tmux could not find fails alone), or did
    // not because of one closed tab (no server, a text tmux could not load): what is left fails.
    const left = inputs.filter((q) => !typed.has(q.index));
    for (const p of left)
      failed.set(
        p.index,
        error ? (asTabGone(error, tabOf(p)) as TerminalError) : new TerminalError(`tmux did not report typing into tab ${tabOf(p).id}`, 'failed'),
      );
    return { failed, loaded: ended ? left.flatMap((p) => ('buffer' in p ? [p.buffer] : [])) : [] };
  }
  failed.set(stop.failed.index, asTabGone(error, tabOf(stop.failed)) as TerminalError);
  return { failed, loaded: [], next: stop.rest };
}
