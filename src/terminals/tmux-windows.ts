import { basename } from 'node:path';
import { TerminalError } from './backend.js';
import { removeLaunchSpec } from './launch-spec.js';
import type { TmuxCommand } from './tmux-args.js';
import { hasStderr } from './tmux-errors.js';
import { JoinedRuns, type TmuxOutcome } from './tmux-joined.js';

/** One try at a window: its own launch spec, and the two command lists that could make it. */
export interface WindowTry {
  specDir: string;
  /** new-window in the group's tmux session, then the window's settings. */
  inExistingGroup: TmuxCommand[];
  /** new-session (the group's session, with this as its first window), then the same settings. */
  inNewGroup: TmuxCommand[];
}

/** The try making a group's session: when its list is queued (windows queued after it follow it), and when it ended (true: the session is there). */
interface Creating {
  /** Its tmux process answered: a window's list queued now would no longer follow it. */
  answered: boolean;
  queued: Promise<void>;
  ended: Promise<boolean>;
}

/** What the try making a group's session tells the others. */
interface Creator {
  queued(): void;
  ran(): void;
  settle(there: boolean): void;
}

/** What a made window's command prints first: `-P -F '#{window_id} #{pane_id} #{pane_pid}'`. */
export const WINDOW_LINE = /^(@\d+) (%\d+) (\d+)$/m;

// A group's tmux session is gone (tmux exits with its last window: a call racing that exit finds no server or target).
export const GROUP_GONE = /can't find session|no server running|error connecting to|server exited unexpectedly|no current target/;
/** The client lost its server before the answer: what ran is not known from what it printed. */
const LOST = /server exited unexpectedly/;
/** Tries of one window: a group found gone or already there, and a server on its way out (10, 20, … ms apart: about 1 s). */
const TRIES = 14;

/**
 * Making tmux windows: whether a group's session is there to take a new window or must be
 * made with it, and what follows when tmux fails part-way through a window's command list.
 *
 * A window's launch spec is one-shot: its launcher deletes it as it reads it. So a list that
 * holds a spec runs at most once. When it fails, the window it may have made is looked for (the
 * id it printed; after a lost server or a timeout, a pane started on that spec), closed if
 * there, and the spec removed; a try that tmux's answer allows (the group gone or made
 * meanwhile, a server on its way out) starts again with a fresh spec (`next()`).
 */
export class TmuxWindows {
  /** The groups (tmux session names) known to be there, each with when it was learnt (#learnt). */
  readonly #knownGroups = new Map<string, number>();
  #learnt = 0;
  /** The try that is making a group's session right now, for the others of that group to follow (see #route). */
  readonly #creatingGroups = new Map<string, Creating>();
  /** New windows of known groups asked for together go to tmux as one process (tmux-joined.ts). */
  readonly #joined: JoinedRuns;

  constructor(
    /** One tmux process, run once: never tried again here, as it may hold a spec. */
    private readonly exec: (commands: readonly TmuxCommand[]) => Promise<TmuxOutcome>,
  ) {
    this.#joined = new JoinedRuns(exec, (err) => hasStderr(err, GROUP_GONE));
  }

  /** Makes one window in `group`'s tmux session; resolves with what its list printed (WINDOW_LINE first). */
  async make(group: string, next: () => Promise<WindowTry>): Promise<string> {
    // The spec is written before any wait for the group: the windows that waited for it go to tmux together.
    let w = await next();
    for (let attempt = 1; ; attempt++) {
      // One round trip in the common cases: a group this process has used gets a new window,
      // an unknown one (usually a new session) is created with it. Tabs of one group that does
      // not exist (yet, or any more: a recovery resumes a whole session at once) follow the
      // first of them, which creates it: in the same tmux process when they are asked for
      // together, else after it. Not all failing and trying again: two tmux processes per tab
      // saved, and the tmux server handles one creation, not sixteen racing ones.
      const creator = await this.#route(group);
      try {
        if (attempt > 1) w = await next();
        const run = this.#joined.run(group, creator ? w.inNewGroup : w.inExistingGroup);
        creator?.queued();
        const { stdout, error } = await run;
        creator?.ran();
        if (error === undefined) {
          creator?.settle(true);
          return stdout;
        }
        const made = WINDOW_LINE.exec(stdout)?.[1] ?? (await this.#startedOn(w.specDir, error));
        if (made) await this.exec([['kill-window', '-t', made]]);
        await removeLaunchSpec(w.specDir);
        // Another process (or a restart) made the group meanwhile: the next try is a window in it.
        const duplicate = creator !== undefined && hasStderr(error, /duplicate session/);
        creator?.settle(duplicate);
        if (!creator && hasStderr(error, GROUP_GONE)) this.#knownGroups.delete(group);
        if ((duplicate || hasStderr(error, GROUP_GONE)) && attempt < TRIES) {
          if (hasStderr(error, LOST)) await new Promise((r) => setTimeout(r, 10 * attempt));
          continue;
        }
        if (!made || !(error instanceof TerminalError)) throw error;
        throw new TerminalError(`tmux made the window but failed setting it up, so it was closed again: ${error.message}`, error.code);
      } finally {
        // A try that ended otherwise (its spec could not be written) leaves the group as unknown as it found it.
        creator?.settle(false);
      }
    }
  }

  /** Taken before a tab listing is asked for, and given to `listed` with its answer. */
  listing(): number {
    return this.#learnt;
  }

  /**
   * A listing's sessions: a known group missing from it is gone (its last window closed, its
   * session killed), and its next window makes it again at once instead of first failing to
   * find it. A group learnt after the listing was asked for is kept: the listing may predate it.
   */
  listed(sessions: ReadonlySet<string>, asked: number): void {
    for (const [group, learnt] of this.#knownGroups) if (learnt <= asked && !sessions.has(group)) this.#knownGroups.delete(group);
  }

  /**
   * undefined: this try makes a window in the group's session: it is there (known), or the
   * try making it has its list queued and not yet answered, so a window's list queued now
   * goes after it (in its tmux process, or the next). Else this try makes the session, and
   * tells the others when its list is queued, answered, and how it went.
   */
  async #route(group: string): Promise<Creator | undefined> {
    for (;;) {
      if (this.#knownGroups.has(group)) return undefined;
      const creating = this.#creatingGroups.get(group);
      if (!creating) break;
      if (!creating.answered) {
        await creating.queued;
        return undefined;
      }
      await creating.ended;
    }
    let queued!: () => void;
    let settle!: (there: boolean) => void;
    const creating: Creating = {
      answered: false,
      queued: new Promise<void>((resolve) => (queued = resolve)),
      ended: new Promise<boolean>((resolve) => (settle = resolve)),
    };
    this.#creatingGroups.set(group, creating);
    let settled = false;
    return {
      queued,
      ran: () => (creating.answered = true),
      settle: (there) => {
        if (settled) return;
        settled = true;
        creating.answered = true;
        queued();
        if (there) this.#knownGroups.set(group, ++this.#learnt);
        if (this.#creatingGroups.get(group) === creating) this.#creatingGroups.delete(group);
        settle(there);
      },
    };
  }

  /**
   * The window whose pane was started on this spec, when tmux's answer cannot tell (the client
   * lost its server, or gave up waiting): the list may have run with its output lost.
   */
  async #startedOn(specDir: string, error: unknown): Promise<string | undefined> {
    if (!hasStderr(error, LOST) && !(error instanceof TerminalError && error.code === 'timeout')) return undefined;
    const { stdout } = await this.exec([['list-panes', '-a', '-F', '#{window_id} #{pane_start_command}']]);
    const spec = basename(specDir);
    return stdout
      .split('\n')
      .find((line) => line.split(/[\s'"/]/).includes(spec))
      ?.split(' ')[0];
  }
}
