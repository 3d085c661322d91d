import { randomBytes } from 'node:crypto';
import { TerminalError } from './backend.js';
import type { TmuxCommand } from './tmux-args.js';

/** What one tmux process printed, and its failure if it failed (stdout is kept either way). */
export interface TmuxOutcome {
  stdout: string;
  error?: unknown;
}

/**
 * Bytes of arguments per tmux process: its client hands the command line to the server in one
 * message of at most 16 KiB, and refuses a longer one ("command too long"). A window's list
 * is about 1 KiB; a list longer than this alone is still sent, alone.
 */
export const MAX_JOINED_BYTES = 12_000;

const sizeOf = (commands: readonly TmuxCommand[]): number => commands.reduce((n, c) => n + c.reduce((m, a) => m + Buffer.byteLength(a) + 3, 2), 0);

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
      const sends: Promise<void>[] = [];
      for (const lists of byTarget.values()) {
        let part: Waiting[] = [];
        let bytes = 0;
        for (const l of lists) {
          const size = sizeOf(l.commands) + 64;
          if (part.length && bytes + size > MAX_JOINED_BYTES) {
            sends.push(this.#send(part));
            part = [];
            bytes = 0;
          }
          part.push(l);
          bytes += size;
        }
        sends.push(this.#send(part));
      }
      await Promise.all(sends);
    }
    this.#sending = false;
  }

  async #send(lists: Waiting[]): Promise<void> {
    if (lists.length === 1) {
      const [one] = lists as [Waiting];
      return one.resolve(await this.exec(one.commands));
    }
    const nonce = randomBytes(8).toString('hex');
    const { stdout, error } = await this.exec(lists.flatMap((l, i) => [...l.commands, ['display-message', '-p', `${nonce}-${i}`]]));
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
