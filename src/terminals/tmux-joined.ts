import { randomBytes } from 'node:crypto';
import { TerminalError } from './backend.js';
import { tmuxArg, type TmuxCommand } from './tmux-args.js';

/** What one tmux process printed, and its failure if it failed (stdout is kept either way). */
export interface TmuxOutcome {
  stdout: string;
  error?: unknown;
}

/**
 * Bytes of arguments per tmux process: its client hands the command line to the server in one
 * message of at most 16 KiB (tmux 3.3a takes 16,365 bytes of arguments, each with its NUL), and
 * refuses a longer one ("command too long"); the rest is a margin. A window's list is 0.9 KiB
 * (a session named after its project, a runtime folder in HOME), so a recovery's sixteen
 * windows go in one process; a list longer than this alone is still sent, alone.
 */
export const MAX_JOINED_BYTES = 16_000;

/** What tmux's client counts of a command line: each argument and each `;` between commands, with its NUL. */
export const sizeOf = (commands: readonly TmuxCommand[]): number =>
  commands.reduce((n, c, i) => n + (i ? 2 : 0) + c.reduce((m, a) => m + Buffer.byteLength(tmuxArg(a)) + 1, 0), 0);

/** `display -p <16 hex>-<index>` (display: tmux's alias of display-message), the line that closes a list's output. */
const mark = (nonce: string, index: number): TmuxCommand => ['display', '-p', `${nonce}-${index}`];
const MARK_BYTES = sizeOf([mark('0'.repeat(16), 9999)]);

interface Waiting {
  target: string;
  commands: readonly TmuxCommand[];
  resolve: (outcome: TmuxOutcome) => void;
}

/**
 * Command lists on one target (a group's tmux session) sent together (in one turn of the event
 * loop, or while the previous tmux process ran) go to tmux as one process: a recovery opens a
 * session's sixteen windows at once, and each tmux process costs the server a fork of itself
 * (most of its own CPU while a crew started). Each list is followed by a line it cannot guess,
 * which closes its part of the output. tmux runs the lists in order and stops at the first
 * command that fails: the lists before it ran (their output is theirs), the one whose line is
 * missing gets the error with what it printed before it (a window it made says so), and the
 * lists after it, which never ran, are sent again; unless the failure is one they share
 * (`shared`: their session is gone; or tmux is missing or does not answer), which fails them
 * all at once. Each list is answered with its outcome, never sent twice: a list that makes a
 * window carries a one-shot launch spec, and what to do after a failure is its caller's call.
 * Lists of one target too long for one process go in several, one after another, in the order
 * they were asked for: the first may make the target (a group's session, with its first window).
 */
export class JoinedRuns {
  readonly #waiting: Waiting[] = [];
  #sending = false;

  constructor(
    private readonly exec: (commands: readonly TmuxCommand[]) => Promise<TmuxOutcome>,
    private readonly shared: (error: unknown) => boolean = () => false,
  ) {}

  run(target: string, commands: readonly TmuxCommand[]): Promise<TmuxOutcome> {
    return new Promise((resolve) => {
      this.#waiting.push({ target, commands, resolve });
      if (this.#sending) return;
      this.#sending = true;
      setImmediate(() => void this.#drain());
    });
  }

  /** What waits goes together, one process per target; lists asked for while tmux runs go together next. */
  async #drain(): Promise<void> {
    while (this.#waiting.length) {
      const byTarget = new Map<string, Waiting[]>();
      for (const w of this.#waiting.splice(0)) byTarget.set(w.target, [...(byTarget.get(w.target) ?? []), w]);
      // Targets side by side; the parts of one target one after another, in the order asked
      // (the first list may make the target: a new group's session, its windows after it).
      await Promise.all(
        [...byTarget.values()].map(async (lists) => {
          for (const part of parts(lists)) await this.#send(part);
        }),
      );
    }
    this.#sending = false;
  }

  async #send(lists: readonly Waiting[]): Promise<void> {
    if (lists.length === 1) {
      const [one] = lists as [Waiting];
      return one.resolve(await this.exec(one.commands));
    }
    const nonce = randomBytes(8).toString('hex');
    const { stdout, error } = await this.exec(lists.flatMap((l, i) => [...l.commands, mark(nonce, i)]));
    let part: string[] = [];
    let done = 0;
    for (const line of stdout.split('\n')) {
      if (line !== `${nonce}-${done}`) {
        part.push(line);
        continue;
      }
      lists[done]!.resolve({ stdout: part.length ? `${part.join('\n')}\n` : '' });
      part = [];
      if (++done === lists.length) return;
    }
    const failure = error ?? new Error('tmux ended without running every command');
    // What the failed list printed before it stopped (the split leaves '' after the last newline).
    if (part.at(-1) === '') part.pop();
    lists[done]!.resolve({ stdout: part.length ? `${part.join('\n')}\n` : '', error: failure });
    if (this.shared(failure) || (failure instanceof TerminalError && (failure.code === 'not_running' || failure.code === 'timeout'))) {
      for (const l of lists.slice(done + 1)) l.resolve({ stdout: '', error: failure });
      return;
    }
    if (done + 1 < lists.length) await this.#send(lists.slice(done + 1));
  }
}

/** A target's lists cut where the next would pass MAX_JOINED_BYTES (with its end-of-list line). */
function parts(lists: readonly Waiting[]): Waiting[][] {
  const out: Waiting[][] = [[]];
  let bytes = 0;
  for (const l of lists) {
    const size = sizeOf(l.commands) + 2 + MARK_BYTES;
    if (out.at(-1)!.length && bytes + size > MAX_JOINED_BYTES) {
      out.push([]);
      bytes = 0;
    }
    out.at(-1)!.push(l);
    bytes += size;
  }
  return out;
}
