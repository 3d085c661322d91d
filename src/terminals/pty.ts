/**
 * Tabs as pseudo-terminals owned by the tabcrew process itself: no terminal app, no tmux.
 * Each tab is a node-pty child whose output feeds a headless xterm model, so reading a
 * screen is rendering that model (as `tmux capture-pane -p -J` renders a pane).
 *
 * The tabs live and die with this process: nobody else can see them, and dispose() (or
 * the process ending, which hangs up every pty) ends their programs. A later tabcrew
 * therefore never re-adopts a PTY tab; it re-opens the agent in a new one.
 *
 * Nothing here goes through a shell: argv is exec'd as given, text is written to the pty.
 * A program gets exactly the launch's environment plus TERM and PWD (node-pty always sets
 * PWD, to the program's working directory).
 */
import { randomBytes } from 'node:crypto';

import xterm from '@xterm/headless';
import type { Terminal } from '@xterm/headless';
import * as nodePty from 'node-pty';
import type { IPty } from 'node-pty';

import { TerminalError, type TabHandle, type TabInfo, type TabLaunch, type TerminalBackend, type TerminalKey } from './backend.js';
import { isProcessAlive } from '../util/process-alive.js';
import { endProgram } from './pty-ending.js';
import { checkLaunch, startProblem } from './pty-launch-check.js';
import { render } from './pty-render.js';

export interface PtyBackendOptions {
  /** Size of every tab; a TUI needs room, and nobody resizes a headless tab. */
  cols?: number;
  rows?: number;
  /** Lines kept above the screen, readable through readScreen. */
  scrollback?: number;
}

const TERM_NAME = 'xterm-256color';
const KEYS: Readonly<Record<TerminalKey, string>> = {
  Enter: '\r',
  Escape: '\x1b',
  'C-c': '\x03',
  'C-u': '\x15',
  BSpace: '\x7f',
  Down: '\x1b[B',
  Up: '\x1b[A',
};
const MAX_LINES = 100_000;
// The xterm model parses in slices between event-loop turns; a program printing faster
// than that would grow its queue without bound (xterm throws past 50 MB), so the pty is
// paused above HIGH unparsed characters and resumed below LOW.
const FLOW_HIGH = 2_000_000;
const FLOW_LOW = 200_000;
const PAUSED_EXIT_POLL_MS = 50;
interface Tab {
  readonly handle: TabHandle;
  readonly tag: string;
  readonly group: string;
  readonly title: string;
  readonly term: Terminal;
  /** Undefined when the program could not be started (the tab only shows why). */
  readonly pty: IPty | undefined;
  alive: boolean;
  exitStatus?: number;
  /** Resolves once the program has ended (at once when it never started). */
  readonly exited: Promise<void>;
  /** Set by closeTab; output arriving later is dropped and waits stop. */
  forgotten: boolean;
  readonly forget: () => void;
  readonly whenForgotten: Promise<void>;
  /** Characters the pty delivered that the model has not parsed yet. */
  unparsed: number;
  paused: boolean;
  /** The program has ended: its remaining output is read without flow control. */
  drainOnly: boolean;
}

export class PtyBackend implements TerminalBackend {
  readonly name = 'pty' as const;
  readonly #cols: number;
  readonly #rows: number;
  readonly #scrollback: number;
  // Ids differ between backends (and so between tabcrew runs): a handle stored by an
  // earlier run must not name a tab of this one.
  readonly #idPrefix = `pty-${randomBytes(4).toString('hex')}-`;
  #nextId = 1;
  readonly #tabs = new Map<string, Tab>();
  /** Programs being ended by closeTab; dispose waits for them. */
  readonly #ending = new Set<Promise<void>>();
  #calls = 0;

  constructor(options: PtyBackendOptions = {}) {
    this.#cols = positiveInt(options.cols ?? 200, 'cols');
    this.#rows = positiveInt(options.rows ?? 50, 'rows');
    this.#scrollback = Math.max(0, Math.floor(options.scrollback ?? 5000));
  }

  get calls(): number {
    return this.#calls;
  }

  async createTab(launch: TabLaunch): Promise<TabHandle> {
    this.#calls++;
    checkLaunch(launch);
    const id = `${this.#idPrefix}${this.#nextId++}`;
    const term = new xterm.Terminal({
      cols: this.#cols,
      rows: this.#rows,
      scrollback: this.#scrollback,
      allowProposedApi: true,
    });
    // TERM names the terminal the program draws on, which is the xterm model.
    const env: Record<string, string> = { ...launch.env, TERM: TERM_NAME };
    const problem = await startProblem(launch.cwd, launch.argv[0]!, env.PATH);
    let pty: IPty | undefined;
    if (!problem) {
      try {
        pty = nodePty.spawn(launch.argv[0]!, launch.argv.slice(1), {
          name: TERM_NAME,
          cols: this.#cols,
          rows: this.#rows,
          cwd: launch.cwd,
          env,
        });
      } catch (err) {
        term.dispose();
        throw new TerminalError(`cannot start ${launch.argv[0]} in a pty: ${(err as Error).message}`, 'failed');
      }
    }
    const handle: TabHandle = { backend: 'pty', id };
    if (pty) {
      handle.pid = pty.pid;
      const tty = (pty as { ptsName?: unknown }).ptsName;
      if (typeof tty === 'string' && tty !== '') handle.tty = tty;
    }
    let exited!: () => void;
    let forget!: () => void;
    const tab: Tab = {
      handle,
      tag: launch.tag,
      group: launch.group,
      title: launch.title,
      term,
      pty,
      alive: pty !== undefined,
      exited: new Promise<void>((r) => (exited = r)),
      forgotten: false,
      forget: () => forget(),
      whenForgotten: new Promise<void>((r) => (forget = r)),
      unparsed: 0,
      paused: false,
      drainOnly: false,
    };
    this.#tabs.set(id, tab);

    if (!pty) {
      // As the tmux launcher does: the tab stays, explains itself, and reports a status.
      term.write(`tabcrew: ${problem!.message}\r\n`);
      tab.exitStatus = problem!.status;
      exited();
      return { ...handle };
    }
    pty.onData((data) => {
      if (tab.forgotten) return;
      tab.unparsed += data.length;
      term.write(data, () => {
        tab.unparsed -= data.length;
        if (tab.paused && tab.unparsed < FLOW_LOW) {
          tab.paused = false;
          pty.resume();
        }
      });
      if (!tab.paused && !tab.drainOnly && tab.unparsed > FLOW_HIGH) {
        tab.paused = true;
        pty.pause();
        watchWhilePaused(tab, pty);
      }
    });
    // The model answers the program's terminal queries (cursor position, device
    // attributes, mode reports) on onData; a TUI may wait for those answers.
    term.onData((reply) => {
      if (tab.alive && !tab.forgotten) pty.write(reply);
    });
    // node-pty reports the exit only after the last output was read.
    pty.onExit(({ exitCode, signal }) => {
      tab.alive = false;
      // As a shell reports it: 128 + the signal.
      tab.exitStatus = signal ? 128 + signal : exitCode;
      exited();
    });
    return { ...handle };
  }

  async paste(tab: TabHandle, text: string): Promise<void> {
    if (text === '') return;
    this.#calls++;
    const t = this.#live(tab, 'nothing was typed');
    // The program may just have asked for bracketed paste in output not yet parsed.
    await settled(t);
    this.#live(tab, 'nothing was typed');
    const bracketed = t.term.modes.bracketedPasteMode;
    t.pty!.write(bracketed ? `\x1b[200~${text}\x1b[201~` : text);
  }

  async sendKeys(tab: TabHandle, keys: readonly TerminalKey[]): Promise<void> {
    for (const key of keys) {
      if (!Object.hasOwn(KEYS, key)) throw new TerminalError(`unknown key ${JSON.stringify(key)}`, 'failed');
    }
    if (keys.length === 0) return;
    this.#calls++;
    const t = this.#live(tab, 'no key was sent');
    t.pty!.write(keys.map((k) => KEYS[k]).join(''));
  }

  async readScreen(tab: TabHandle, lines: number): Promise<string> {
    const n = lineCount(lines);
    this.#calls++;
    const t = this.#known(tab);
    await settled(t);
    // The tab may have been closed while its output was parsed.
    return render(this.#known(tab).term, n);
  }

  async readScreens(tabs: readonly TabHandle[], lines: number): Promise<Map<string, string>> {
    const n = lineCount(lines);
    this.#calls++;
    const known = tabs.flatMap((handle) => {
      const t = this.#find(handle);
      return t ? [t] : [];
    });
    await Promise.all(known.map(settled));
    const screens = new Map<string, string>();
    for (const t of known) {
      if (!t.forgotten) screens.set(t.handle.id, render(t.term, n));
    }
    return screens;
  }

  async listTabs(): Promise<TabInfo[]> {
    this.#calls++;
    return [...this.#tabs.values()].map((t) => {
      const info: TabInfo = { ...t.handle, tag: t.tag, group: t.group, title: t.title, alive: t.alive };
      if (!t.alive && t.exitStatus !== undefined) info.exitStatus = t.exitStatus;
      return info;
    });
  }

  async closeTab(tab: TabHandle): Promise<void> {
    this.#calls++;
    const t = this.#find(tab);
    if (!t) return;
    this.#close(t);
  }

  /** Ends every program this backend started: PTY tabs do not outlive their server. */
  async dispose(): Promise<void> {
    for (const t of [...this.#tabs.values()]) this.#close(t);
    await Promise.all([...this.#ending]);
  }

  #close(t: Tab): void {
    this.#tabs.delete(t.handle.id);
    t.forgotten = true;
    t.forget();
    const ending = endProgram(t).finally(() => {
      t.term.dispose();
      this.#ending.delete(ending);
    });
    this.#ending.add(ending);
  }

  #find(tab: TabHandle): Tab | undefined {
    return tab.backend === 'pty' ? this.#tabs.get(tab.id) : undefined;
  }

  #known(tab: TabHandle): Tab {
    const t = this.#find(tab);
    if (!t) throw new TerminalError(`tab ${tab.id} is gone (closed, or opened by an earlier tabcrew)`, 'tab_gone');
    return t;
  }

  #live(tab: TabHandle, consequence: string): Tab {
    const t = this.#known(tab);
    if (!t.alive || !t.pty) throw new TerminalError(`the program in tab ${tab.id} has ended; ${consequence}`, 'tab_gone');
    return t;
  }
}

/**
 * node-pty gives a program's last output only 200 ms after it exits before dropping the
 * pty, and a paused pty is not read: so a paused tab whose program has ended is read to
 * the end at once (what is left is at most the kernel's pty buffer).
 */
function watchWhilePaused(tab: Tab, pty: IPty): void {
  const timer = setInterval(() => {
    if (!tab.paused) {
      clearInterval(timer);
    } else if (tab.forgotten || !isProcessAlive(pty.pid)) {
      clearInterval(timer);
      tab.paused = false;
      tab.drainOnly = true;
      pty.resume();
    }
  }, PAUSED_EXIT_POLL_MS);
}

/** Resolves once the model has parsed every byte the pty delivered so far. */
function settled(t: Tab): Promise<void> {
  if (t.forgotten) return Promise.resolve();
  // Writes are parsed in order, so an empty write's callback runs after all earlier
  // ones. A closed tab's model is disposed and may never call back.
  return Promise.race([new Promise<void>((r) => t.term.write('', r)), t.whenForgotten]);
}

function lineCount(lines: number): number {
  if (!Number.isFinite(lines) || lines < 1) throw new TerminalError(`line count must be at least 1, got ${lines}`, 'failed');
  return Math.min(Math.floor(lines), MAX_LINES);
}

function positiveInt(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 1) throw new Error(`PtyBackend ${what} must be a positive integer, got ${value}`);
  return value;
}
