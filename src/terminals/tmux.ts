/**
 * Tabs as tmux windows, on a tmux server of tabcrew's own (`tmux -L <socket>`).
 *
 * Every method is one tmux process (one round trip; new windows asked for together share
 * one, tmux-joined.ts, and tmux-windows.ts decides how a window is made; the tab listing and screen reads go through a control-mode client, tmux-control.ts);
 * user text never reaches a tmux command string: arguments travel as argv (escaped by
 * tmux-args.ts), typed text travels on tmux's stdin (typeMany's, many texts at once, in
 * private files tmux loads), and a program's argv/env travel in a launch spec file.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { TerminalError, type TabHandle, type TabInfo, type TabInput, type TabLaunch, type TerminalBackend, type TerminalKey } from './backend.js';
import { terminalEnv } from './env.js';
import { launcherPath, sweepLaunchSpecs, writeLaunchSpecSync } from './launch-spec.js';
import { capture, checkedId, commandString, exists, formatLiteral, paneTarget, tmuxCommandLine, type TmuxCommand } from './tmux-args.js';
import { TmuxControl } from './tmux-control.js';
import { asTabGone, hasStderr, MAX_BUFFER, TIMEOUT_MS, toTerminalError } from './tmux-errors.js';
import type { TmuxOutcome } from './tmux-joined.js';
import { GROUP_OPTION, listingFormat, parseListing, TAG_OPTION } from './tmux-listing.js';
import { lastLines, lineCount, tmuxSessionName } from './tmux-text.js';
import { listOutcome, listsApart, typingChunks, type PlannedInput } from './tmux-typing.js';
import { TmuxWindows, WINDOW_LINE, type WindowTry } from './tmux-windows.js';

export interface TmuxBackendOptions {
  /** Socket name (`tmux -L`): tabcrew's tabs live on their own tmux server. */
  socket: string;
  tmuxPath?: string;
  /** Private directory for launch specs (see launch-spec.ts). */
  runtimeDir: string;
}

/** The title tabcrew gave a pane, which KEEP_TITLE puts back whenever the program changes it. */
const TITLE_OPTION = '@tabcrew_title';
// A program in the pane can set its title (OSC 0/2, and in tmux before 3.4 any APC: Claude
// Code's kitty-graphics probe `ESC _ Gi=31,s=1,… ESC \` became the title "Gi=31,s=1,…").
// A pane hook puts tabcrew's title back; the comparison keeps it from running again on its
// own change. A constant: the title itself is read from the option, never put in the string.
// (`if`, `selectp`: tmux's aliases of if-shell and select-pane; the string goes into every window's command list.)
const KEEP_TITLE = `if -F '#{!=:#{pane_title},#{${TITLE_OPTION}}}' 'selectp -T "#{${TITLE_OPTION}}"'`;
// A detached session has no client to take its size from; a TUI needs room.
const NEW_SESSION_SIZE = ['-x', '200', '-y', '50'];
const KEYS: ReadonlySet<string> = new Set<TerminalKey>(['Enter', 'Escape', 'C-c', 'C-u', 'BSpace', 'Down', 'Up']);
const STALE_SPEC_MS = 60_000;
/** Tries of a command that met a server on its way out (10, 20, … ms apart: about 1 s in all). */
const EXITING_RETRIES = 14;

export class TmuxBackend implements TerminalBackend {
  readonly name = 'tmux' as const;
  readonly #socket: string;
  readonly #tmux: string;
  readonly #runtimeDir: string;
  #calls = 0;
  /** When createTab last removed stale launch specs. */
  #sweptAt = 0;
  /** A control-mode client for the tab listing every status makes (tmux-control.ts). */
  readonly #control: TmuxControl;
  /** New windows: which command makes one, and what follows a failure (tmux-windows.ts). Each list runs once. */
  readonly #windows = new TmuxWindows((commands) => this.#execOnce(commands, ''));
  /** The private directory of typeMany's texts, made (and swept of a crashed run's leftovers) once. */
  #pasteDir?: Promise<string>;

  constructor(options: TmuxBackendOptions) {
    if (!/^[A-Za-z0-9._-]+$/.test(options.socket)) {
      throw new Error(`tmux socket name ${JSON.stringify(options.socket)} may only hold letters, digits, '.', '_' and '-'`);
    }
    this.#socket = options.socket;
    this.#tmux = options.tmuxPath ?? 'tmux';
    this.#runtimeDir = options.runtimeDir;
    this.#control = new TmuxControl(this.#tmux, this.#socket, TIMEOUT_MS);
  }

  get calls(): number {
    return this.#calls;
  }

  async createTab(launch: TabLaunch): Promise<TabHandle> {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(launch.group)) {
      // tmux rewrites '.' and ':' in session names and reads them in targets.
      throw new TerminalError(`tab group ${JSON.stringify(launch.group)} must be 1-64 letters, digits, '_' or '-'`, 'failed');
    }
    if (launch.tag === '' || launch.tag.includes('\0')) {
      throw new TerminalError('a tab tag must be a non-empty string without NUL', 'failed');
    }
    let launcher: string;
    try {
      launcher = launcherPath();
      // A sweep reads every spec's age: once in a while, not for each of a recovery's sixteen tabs;
      // and not waited for, so that tabs asked for together reach tmux together (it removes only old specs).
      if (Date.now() - this.#sweptAt >= STALE_SPEC_MS / 2) {
        this.#sweptAt = Date.now();
        void sweepLaunchSpecs(this.#runtimeDir, STALE_SPEC_MS).catch(() => undefined);
      }
    } catch (err) {
      throw new TerminalError(`cannot start a tab: ${(err as Error).message}`, 'failed');
    }
    const session = tmuxSessionName(launch.group, launch.groupTitle);
    // Each try at the window gets a spec of its own: a launcher deletes its spec as it reads it (tmux-windows.ts).
    const next = async (): Promise<WindowTry> => {
      let specDir: string;
      try {
        // TERM names the terminal the program draws on, and that is tmux, whatever the
        // server's own TERM was (none at all when Claude Desktop starts tabcrew).
        // screen-256color: tmux-256color's terminfo is missing on stock macOS.
        specDir = writeLaunchSpecSync(this.#runtimeDir, { ...launch, env: { ...launch.env, TERM: 'screen-256color' } });
      } catch (err) {
        throw new TerminalError(`cannot start a tab: ${(err as Error).message}`, 'failed');
      }
      // `new-window -d` leaves the session's current window unchanged, so a following
      // `set-option -w` without a target would configure the wrong window. A unique
      // placeholder name lets the rest of the same command list target the new window.
      // Short, as every command of the list names it: sixteen windows' lists fit in one tmux process.
      const placeholder = `tc-${randomHex(6)}`;
      const target = `=${session}:=${placeholder}`;
      const program = ['--', '/bin/bash', launcher, specDir];
      const print = ['-P', '-F', '#{window_id} #{pane_id} #{pane_pid}'];
      // No `automatic-rename off`: a window named by `-n` or rename-window has it off already.
      // `set` is tmux's alias of set-option: every command names the window, and sixteen
      // windows' lists should fit in one tmux process (tmux-joined.ts).
      const configure: TmuxCommand[] = [
        // Before the program can end: the list runs before tmux handles any child exit.
        ['set', '-w', '-t', target, 'remain-on-exit', 'on'],
        ['set', '-w', '-t', target, 'allow-rename', 'off'],
        ['set', '-w', '-t', target, '--', TAG_OPTION, launch.tag],
        ['set', '-w', '-t', target, '--', TITLE_OPTION, launch.title],
        ['set-hook', '-p', '-t', target, 'pane-title-changed', KEEP_TITLE],
        ['select-pane', '-t', target, '-T', `#{${TITLE_OPTION}}`],
        ['rename-window', '-t', target, '--', formatLiteral(launch.title)],
      ];
      return {
        specDir,
        inExistingGroup: [['new-window', '-d', '-t', `=${session}:`, '-n', placeholder, ...print, ...program], ...configure],
        // The group is the session's option: set with the session, not with every window.
        inNewGroup: [
          ['new-session', '-d', '-s', session, ...NEW_SESSION_SIZE, '-n', placeholder, ...print, ...program],
          ...configure,
          ['set', '-t', target, '--', GROUP_OPTION, launch.group],
        ],
      };
    };
    const stdout = await this.#windows.make(session, next);
    const m = WINDOW_LINE.exec(stdout);
    if (!m) throw new TerminalError(`tmux did not report the new window (output: ${JSON.stringify(stdout)})`, 'failed');
    return { backend: 'tmux', id: m[1]!, pane: m[2]!, pid: Number(m[3]) };
  }

  async paste(tab: TabHandle, text: string): Promise<void> {
    if (text === '') return;
    const pane = paneTarget(tab);
    const buffer = `tabcrew-paste-${randomHex(8)}`;
    // tmux before 3.4 crashes (the whole server) on paste-buffer into a dead pane
    // (tmux/tmux#3830), so the paste runs only while the pane's program is alive.
    // The first command fails cleanly, before any text is loaded, if the pane is gone.
    const stdout = await this.#run(
      [
        ['display-message', '-p', '-t', pane, '#{pane_dead}'],
        ['load-buffer', '-b', buffer, '-'],
        [
          'if-shell',
          '-F',
          '-t',
          pane,
          '#{pane_dead}',
          commandString('delete-buffer', '-b', buffer),
          // -p: bracketed paste when the program asked for it; -r: LF stays LF (a newline
          // in the message, not Enter); -d: the text does not stay in tmux's buffers.
          commandString('paste-buffer', '-b', buffer, '-d', '-p', '-r', '-t', pane),
        ],
      ],
      text,
    ).catch((err: unknown) => {
      throw asTabGone(err, tab);
    });
    if (stdout.trim() === '1') {
      throw new TerminalError(`the program in tab ${tab.id} has ended; nothing was typed`, 'tab_gone');
    }
  }

  async sendKeys(tab: TabHandle, keys: readonly TerminalKey[]): Promise<void> {
    for (const key of keys) {
      if (!KEYS.has(key)) throw new TerminalError(`unknown key ${JSON.stringify(key)}`, 'failed');
    }
    if (keys.length === 0) return;
    await this.#run([['send-keys', '-t', paneTarget(tab), ...keys]]).catch((err: unknown) => {
      throw asTabGone(err, tab);
    });
  }

  /**
   * Many pastes and keys in one tmux process (several only past tmux's command length): a
   * fan-out types into 64 tabs at once, and each tmux process is a fork of this one. Each
   * input is checked inside tmux on its own (a paste only into a live pane, as paste does);
   * a closed tab stops the list at its input, which fails alone, and the inputs after it go
   * in another process (tmux-typing.ts). One stdin per process: the texts travel as private
   * files (0600, in a 0700 directory of the runtime dir) that tmux loads and that are removed
   * as soon as tmux has answered.
   */
  async typeMany(inputs: readonly TabInput[]): Promise<(TerminalError | undefined)[]> {
    const results: (TerminalError | undefined)[] = inputs.map(() => undefined);
    const planned: PlannedInput[] = [];
    const files: string[] = [];
    try {
      for (const [index, input] of inputs.entries()) {
        let pane: string;
        try {
          pane = paneTarget(input.tab);
          if ('keys' in input) for (const key of input.keys) if (!KEYS.has(key)) throw new TerminalError(`unknown key ${JSON.stringify(key)}`, 'failed');
        } catch (err) {
          results[index] = err as TerminalError;
          continue;
        }
        if ('keys' in input) {
          if (input.keys.length) planned.push({ index, pane, keys: input.keys });
        } else if (input.text !== '') {
          const file = join(await this.#pastes(), randomHex(8));
          files.push(file);
          // Written here and now: small private files, and 64 of them through the thread pool
          // (open, write, close each) took 30–180 ms on a loaded machine, against ~2 ms so.
          writeFileSync(file, input.text, { mode: 0o600, flag: 'wx' });
          planned.push({ index, pane, buffer: `tabcrew-paste-${randomHex(8)}`, file });
        }
      }
      const nonce = randomHex(12);
      const chunks = typingChunks(planned, nonce);
      // Lists that type into different tabs go side by side; a tab typed into by two lists keeps its order.
      if (listsApart(chunks, (p) => inputs[p.index]!.tab.id)) await Promise.all(chunks.map((chunk) => this.#typeChunk(chunk, nonce, inputs, results)));
      else for (const chunk of chunks) await this.#typeChunk(chunk, nonce, inputs, results);
    } catch (err) {
      // The texts could not be written: nothing of this call was typed.
      const failed = new TerminalError(`cannot type: ${(err as Error).message}`, 'failed');
      return inputs.map(() => failed);
    } finally {
      for (const f of files) rmSync(f, { force: true });
    }
    return results;
  }

  /** One list of typeMany; should tmux stop it at a closed tab, the inputs after that one go again. */
  async #typeChunk(
    chunk: { commands: TmuxCommand[]; inputs: PlannedInput[] },
    nonce: string,
    inputs: readonly TabInput[],
    results: (TerminalError | undefined)[],
  ): Promise<void> {
    // Each round settles at least one input: bounded by the inputs' count.
    for (let list: typeof chunk | undefined = chunk; list?.inputs.length;) {
      const { stdout, error } = await this.#exec(list.commands);
      const outcome = listOutcome(list.inputs, stdout, error, nonce, (p) => inputs[p.index]!.tab);
      for (const [index, e] of outcome.failed) results[index] = e;
      // Texts of inputs that failed without either branch running stay loaded in tmux: not left there.
      if (outcome.loaded.length) await this.#exec(outcome.loaded.map((b) => ['delete-buffer', '-b', b]));
      list = outcome.next;
    }
  }

  #pastes(): Promise<string> {
    this.#pasteDir ??= (async () => {
      const dir = join(this.#runtimeDir, 'paste');
      await mkdir(dir, { recursive: true, mode: 0o700 });
      // A text outlives its call only when a tabcrew died during it: not left on disk.
      const cutoff = Date.now() - STALE_SPEC_MS;
      for (const name of await readdir(dir)) {
        const file = join(dir, name);
        if (((await stat(file).catch(() => undefined))?.mtimeMs ?? Infinity) < cutoff) await rm(file, { force: true });
      }
      return dir;
    })().catch((err: unknown) => {
      this.#pasteDir = undefined;
      throw err;
    });
    return this.#pasteDir;
  }

  async readScreen(tab: TabHandle, lines: number): Promise<string> {
    const n = lineCount(lines);
    const [viaControl] = (await this.#controlScreens([tab], n)) ?? [];
    if (viaControl !== undefined) return lastLines(viaControl, n);
    const stdout = await this.#run([capture(paneTarget(tab), n)]).catch((err: unknown) => {
      throw asTabGone(err, tab);
    });
    return lastLines(stdout, n);
  }

  async readScreens(tabs: readonly TabHandle[], lines: number): Promise<Map<string, string>> {
    const n = lineCount(lines);
    const screens = new Map<string, string>();
    if (tabs.length === 0) return screens;
    const viaControl = await this.#controlScreens(tabs, n);
    if (viaControl) {
      tabs.forEach((tab, i) => screens.set(tab.id, lastLines(viaControl[i]!, n)));
      return screens;
    }
    const targets = tabs.map(paneTarget);
    // Screen text is arbitrary, so each screen is closed by a line it cannot guess.
    const nonce = randomHex(12);
    const marker = (i: number, found: 0 | 1) => ['display-message', '-p', `${nonce}-${i}-${found}`];
    let stdout: string;
    try {
      stdout = await this.#run(targets.flatMap((t, i) => [capture(t, n), marker(i, 1)]));
    } catch (err) {
      if (hasStderr(err, /no server running|error connecting to/)) return screens;
      if (!hasStderr(err, /can't find (pane|window)/)) throw err;
      // tmux stops a command list at its first error, so one closed tab would hide
      // the screens after it. The second try captures only tabs that still exist.
      stdout = await this.#run(
        targets.flatMap((t, i) => [
          ['if-shell', '-F', exists(t), commandString(...capture(t, n))],
          ['if-shell', '-F', exists(t), commandString(...marker(i, 1)), commandString(...marker(i, 0))],
        ]),
      );
    }
    let current: string[] = [];
    for (const line of stdout.split('\n')) {
      const m = line.startsWith(`${nonce}-`) ? /^[0-9a-f]+-(\d+)-([01])$/.exec(line) : null;
      if (!m) {
        current.push(line);
        continue;
      }
      const tab = tabs[Number(m[1])];
      if (tab && m[2] === '1') screens.set(tab.id, lastLines(current.join('\n'), n));
      current = [];
    }
    return screens;
  }

  /**
   * The screens through the control client (no tmux process), or undefined when it cannot
   * read them all (no client, a tab gone): then a tmux process does, and says what went wrong.
   */
  async #controlScreens(tabs: readonly TabHandle[], n: number): Promise<string[] | undefined> {
    const commands = tabs.map((tab) => commandString(...capture(paneTarget(tab), n)));
    this.#calls++;
    const outs = await this.#control.runEach(commands);
    if (!outs) this.#calls--;
    return outs;
  }

  async listTabs(): Promise<TabInfo[]> {
    const nonce = randomHex(12);
    const format = listingFormat(nonce);
    const asked = this.#windows.listing();
    this.#calls++;
    // Quoted for the control client's command parser: the format is constant but for the hex nonce.
    let stdout = await this.#control.run(`list-panes -a -F '${format}'`);
    if (stdout === undefined) {
      this.#calls--;
      try {
        stdout = await this.#run([['list-panes', '-a', '-F', format]]);
      } catch (err) {
        if (!hasStderr(err, /no server running|error connecting to/)) throw err;
        stdout = '';
      }
    }
    const { tabs, sessions, unreaped } = parseListing(stdout, nonce);
    this.#windows.listed(sessions, asked);
    // tmux built with libutempter loses a SIGCHLD that arrives while utempter's helper
    // runs (tmux/tmux#311), which happens when a program exits just as its pane closes:
    // the pane is dead, the child a zombie, and no status comes until the next SIGCHLD.
    // Sending one makes tmux reap it, so the next listing has the exit status.
    if (unreaped > 1) {
      try {
        process.kill(unreaped, 'SIGCHLD');
      } catch {
        // the server is gone or not ours to signal; the status just stays unknown
      }
    }
    return tabs;
  }

  async closeTab(tab: TabHandle): Promise<void> {
    const window = checkedId(tab.id, /^@\d+$/, 'tmux window id');
    try {
      await this.#run([['kill-window', '-t', window]]);
    } catch (err) {
      if (hasStderr(err, /can't find window|no server running|error connecting to/)) return;
      throw err;
    }
  }

  async dispose(): Promise<void> {
    // Tabs outlive this process by design; only the control client is let go.
    this.#control.close();
  }

  async #run(commands: readonly TmuxCommand[], input = ''): Promise<string> {
    const { stdout, error } = await this.#exec(commands, input);
    if (error !== undefined) throw error;
    return stdout;
  }

  /** One tmux command list; what it printed is kept when it fails (a list stops at its first failing command). */
  async #exec(commands: readonly TmuxCommand[], input = ''): Promise<TmuxOutcome> {
    // A server whose last tab just closed lingers until its control clients (ours, see
    // tmux-control.ts) have taken `%exit`, and meanwhile closes every new connection unread:
    // the command did not run, and once that server is gone the next try starts a new one.
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.#execOnce(commands, input);
      if (!outcome.error || attempt >= EXITING_RETRIES || !hasStderr(outcome.error, /server exited unexpectedly/)) return outcome;
      await new Promise((r) => setTimeout(r, 10 * attempt));
    }
  }

  /** One tmux process. */
  #execOnce(commands: readonly TmuxCommand[], input: string): Promise<TmuxOutcome> {
    this.#calls++;
    // -u: tmux decides from the locale whether its client takes UTF-8, and under a
    // non-UTF-8 locale it would print window names with '_' for every non-ASCII byte.
    const argv = ['-u', '-L', this.#socket, ...tmuxCommandLine(commands)];
    return new Promise((resolve) => {
      const child = execFile(this.#tmux, argv, { encoding: 'utf8', timeout: TIMEOUT_MS, maxBuffer: MAX_BUFFER, env: terminalEnv() }, (err, stdout, stderr) => {
        resolve(err ? { stdout: stdout ?? '', error: toTerminalError(err, stderr, this.#tmux) } : { stdout });
      });
      // tmux may exit (bad target) before reading stdin; that is reported by its status.
      child.stdin?.on('error', () => {});
      child.stdin?.end(input);
    });
  }
}

function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}
