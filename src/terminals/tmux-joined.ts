import { randomBytes } from 'node:crypto';
import { TerminalError } from './backend.js';
import type { TmuxCommand } from './tmux-args.js';

/** What one tmux process printed, and its failure if it failed (stdout is kept either way). */
export interface TmuxOutcome {
  stdout: string;
  error?: unknown;
}

/** Lists per tmux process: a crew of 64 windows stays far below the argv limit. */
const MAX_JOINED = 32;

interface Waiting {
  commands: readonly TmuxCommand[];
  resolve: (stdout: string) => void;
  reject: (error: unknown) => void;
}

/**
 * Command lists sent together (in one turn of the event loop, or while the previous tmux
 * process ran) go to tmux as one process: a recovery opens a session's sixteen windows at
 * once, and each tmux process costs the server a fork of itself (most of its own CPU while a
 * crew started). Each list is followed by a line it cannot
 * guess, which closes its part of the output. tmux runs the lists in order and stops at the
 * first command that fails: the lists before it ran (their output is theirs), the one whose
 * line is missing gets the error, and the lists after it, which never ran, are sent again
 * (all fail together when tmux itself is missing or does not answer).
 */
export class JoinedRuns {
  readonly #waiting: Waiting[] = [];
  #sending = false;

  constructor(private readonly exec: (commands: readonly TmuxCommand[]) => Promise<TmuxOutcome>) {}

  run(commands: readonly TmuxCommand[]): Promise<string> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ commands, resolve, reject });
      if (this.#sending) return;
      this.#sending = true;
      setImmediate(() => void this.#drain());
    });
  }

  /** What waits goes together; lists asked for while tmux runs wait for it, and go together next. */
  async #drain(): Promise<void> {
    while (this.#waiting.length) await this.#send(this.#waiting.splice(0, MAX_JOINED));
    this.#sending = false;
  }

  async #send(lists: Waiting[]): Promise<void> {
    if (lists.length === 1) {
      const [one] = lists as [Waiting];
      const { stdout, error } = await this.exec(one.commands);
      return error === undefined ? one.resolve(stdout) : one.reject(error);
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
      lists[done]!.resolve(part.length ? `${part.join('\n')}\n` : '');
      part = [];
      if (++done === lists.length) return;
    }
    const failure = error ?? new Error('tmux ended without running every command');
    // tmux missing or not answering: no list ran, and none would alone.
    if (failure instanceof TerminalError && (failure.code === 'not_running' || failure.code === 'timeout')) {
      for (const l of lists.slice(done)) l.reject(failure);
      return;
    }
    lists[done]!.reject(failure);
    if (done + 1 < lists.length) await this.#send(lists.slice(done + 1));
  }
}
