/**
 * Tabs as iTerm2 tabs, driven by the JXA program scripts/applescript/tabcrew.js.
 *
 * Every method is one `osascript -l JavaScript tabcrew.js JSON` process (NOTES.md: a round
 * trip costs 100–300 ms, so one per operation, never one per tab). Data reaches the
 * script only as that one JSON argument, whose `op` names the operation, run with
 * execFile (no shell): user text never becomes script source. A program's argv/env
 * travel in a launch spec file, as with tmux.
 *
 * Facts cited as NOTES.md / the sdef are from shared/reference/iterm2/.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import { TerminalError, type TabHandle, type TabInfo, type TabLaunch, type TerminalBackend, type TerminalKey } from './backend.js';
import { terminalEnv } from './env.js';
import { launcherPath, removeLaunchSpec, sweepLaunchSpecs, writeLaunchSpec } from './launch-spec.js';
import { typedCommand } from './iterm2-command.js';
import { OsascriptFailure, toTerminalError, type Script } from './iterm2-errors.js';

export interface ITerm2BackendOptions {
  /** Private directory for launch specs and large pastes. */
  runtimeDir: string;
  /** Defaults to `osascript` looked up on PATH (a test puts the iTerm2 emulator first). */
  osascriptPath?: string;
  /** Per osascript run. */
  timeoutMs?: number;
  /** How long an iTerm2 that is starting (-600) is waited for, in all. */
  launchWaitMs?: number;
}

const TIMEOUT_MS = 30_000;
const LAUNCH_WAIT_MS = 15_000;
const PREFLIGHT_TIMEOUT_MS = 5_000;
const MAX_BUFFER = 64 * 1024 * 1024;
// osascript needs no secret either. TABCREW_EMULATOR_* configure the stand-in osascript of
// the tests (test/iterm2-emulator); the real one ignores them.
const OSASCRIPT_EXTRA_ENV = /^TABCREW_EMULATOR_/;
const KEYS: ReadonlySet<string> = new Set<TerminalKey>(['Enter', 'Escape', 'C-c', 'C-u', 'BSpace', 'Down', 'Up']);
const MAX_LINES = 100_000;
const STALE_SPEC_MS = 60_000;
// Script, arguments and environment share ARG_MAX (~1 MiB on macOS, NOTES.md): a larger
// paste goes through a file for `write contents of file`.
const INLINE_PASTE_BYTES = 64 * 1024;
// Controls that sanitizeForTerminal replaces; CR too, which it turns into LF.
const UNSANITISED = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

interface CreateResult {
  id: string;
  tty: string;
  pid: string | null;
  window: number;
}

interface ListedTab {
  id: string;
  tty: string;
  pid: string | null;
  title: string;
  tag: string | null;
  group: string | null;
  exit: string | null;
}

interface Target {
  id: string;
  tty?: string;
  pid?: number;
}

export class ITerm2Backend implements TerminalBackend {
  readonly name = 'iterm2' as const;
  readonly #runtimeDir: string;
  readonly #osascript: string;
  readonly #timeoutMs: number;
  readonly #launchWaitMs: number;
  // Two createTab calls for a new group would each find no window and open one: within
  // this process, tabs of one group are created one after another.
  readonly #groupQueues = new Map<string, Promise<unknown>>();
  #calls = 0;

  constructor(options: ITerm2BackendOptions) {
    this.#runtimeDir = options.runtimeDir;
    this.#osascript = options.osascriptPath ?? 'osascript';
    this.#timeoutMs = options.timeoutMs ?? TIMEOUT_MS;
    this.#launchWaitMs = options.launchWaitMs ?? LAUNCH_WAIT_MS;
  }

  get calls(): number {
    return this.#calls;
  }

  /**
   * One harmless event with a short timeout, for start-up: the first Apple event from a
   * host app shows macOS's Automation prompt and waits for it (NOTES.md), and this turns
   * that wait into a message saying what to allow.
   */
  async preflight(timeoutMs = PREFLIGHT_TIMEOUT_MS): Promise<{ running: boolean; version: string | null }> {
    return this.#run<{ running: boolean; version: string | null }>('preflight', {}, { timeoutMs, retryLaunch: false });
  }

  async createTab(launch: TabLaunch): Promise<TabHandle> {
    for (const [what, value] of [
      ['tab group', launch.group],
      ['tab tag', launch.tag],
    ] as const) {
      if (value === '' || value.includes('\0')) throw new TerminalError(`a ${what} must be a non-empty string without NUL`, 'failed');
    }
    if (launch.title.includes('\0')) throw new TerminalError('a tab title cannot hold NUL', 'failed');
    const previous = this.#groupQueues.get(launch.group) ?? Promise.resolve();
    const created = previous.catch(() => {}).then(() => this.#createTab(launch));
    this.#groupQueues.set(launch.group, created);
    try {
      return await created;
    } finally {
      if (this.#groupQueues.get(launch.group) === created) this.#groupQueues.delete(launch.group);
    }
  }

  async #createTab(launch: TabLaunch): Promise<TabHandle> {
    let specDir: string;
    let command: string;
    try {
      const launcher = launcherPath();
      await sweepLaunchSpecs(this.#runtimeDir, STALE_SPEC_MS);
      // TERM names the terminal the program draws on: iTerm2's default profile reports
      // xterm-256color, and the launcher gives the program no other environment.
      specDir = await writeLaunchSpec(this.#runtimeDir, { ...launch, env: { ...launch.env, TERM: 'xterm-256color' } });
      try {
        command = typedCommand(launcher, specDir);
      } catch (err) {
        await removeLaunchSpec(specDir);
        throw err;
      }
    } catch (err) {
      throw new TerminalError(`cannot start a tab: ${(err as Error).message}`, 'failed');
    }
    let created: CreateResult;
    try {
      created = await this.#run<CreateResult>('create-tab', { group: launch.group, tag: launch.tag, title: launch.title, command });
    } catch (err) {
      await removeLaunchSpec(specDir);
      throw err;
    }
    if (typeof created?.id !== 'string') throw new TerminalError(`iTerm2 did not report the new tab (${JSON.stringify(created)})`, 'failed');
    return handle(created.id, created.tty, created.pid);
  }

  async paste(tab: TabHandle, text: string): Promise<void> {
    if (text === '') return;
    const bad = UNSANITISED.exec(text);
    if (bad) {
      const code = bad[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
      throw new TerminalError(`text to paste must be sanitised first (sanitizeForTerminal): it holds the control code U+${code}`, 'failed');
    }
    const target = targetOf(tab);
    if (Buffer.byteLength(text, 'utf8') <= INLINE_PASTE_BYTES) {
      await this.#write(tab, { target, paste: text });
      return;
    }
    let dir: string;
    try {
      const parent = join(this.#runtimeDir, 'paste');
      await mkdir(parent, { recursive: true, mode: 0o700 });
      dir = await mkdtemp(join(parent, 'paste-'));
      await writeFile(join(dir, 'text'), text, { mode: 0o600, flag: 'wx' });
    } catch (err) {
      throw new TerminalError(`cannot stage a large paste: ${(err as Error).message}`, 'failed');
    }
    try {
      await this.#write(tab, { target, pasteFile: join(dir, 'text') });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async sendKeys(tab: TabHandle, keys: readonly TerminalKey[]): Promise<void> {
    for (const key of keys) {
      if (!KEYS.has(key)) throw new TerminalError(`unknown key ${JSON.stringify(key)}`, 'failed');
    }
    if (keys.length === 0) return;
    await this.#write(tab, { target: targetOf(tab), keys });
  }

  async #write(tab: TabHandle, args: Record<string, unknown>): Promise<void> {
    const result = await this.#run<{ ok: boolean; reason?: string; exit?: string }>('write', args).catch((err: unknown) => {
      throw asTabGone(err, tab);
    });
    if (result.ok) return;
    if (result.reason === 'ended') {
      throw new TerminalError(`the program in tab ${tab.id} has ended (exit status ${result.exit}); nothing was typed`, 'tab_gone');
    }
    if (result.reason === 'not_started') {
      throw new TerminalError(`the program in tab ${tab.id} has not started yet; nothing was typed, try again in a moment`, 'failed');
    }
    throw new TerminalError(`tab ${tab.id} is gone (iTerm2 has no such session); nothing was typed`, 'tab_gone');
  }

  async readScreen(tab: TabHandle, lines: number): Promise<string> {
    const n = lineCount(lines);
    const { screens } = await this.#run<{ screens: (string | null)[] }>('read-screens', { targets: [targetOf(tab)], lines: n }).catch((err: unknown) => {
      throw asTabGone(err, tab);
    });
    const screen = screens[0];
    if (typeof screen !== 'string') throw new TerminalError(`tab ${tab.id} is gone (iTerm2 has no such session)`, 'tab_gone');
    return screen;
  }

  async readScreens(tabs: readonly TabHandle[], lines: number): Promise<Map<string, string>> {
    const n = lineCount(lines);
    const out = new Map<string, string>();
    if (tabs.length === 0) return out;
    const { screens } = await this.#run<{ screens: (string | null)[] }>('read-screens', { targets: tabs.map(targetOf), lines: n });
    tabs.forEach((tab, i) => {
      const screen = screens[i];
      if (typeof screen === 'string') out.set(tab.id, screen);
    });
    return out;
  }

  async listTabs(): Promise<TabInfo[]> {
    const { tabs } = await this.#run<{ tabs: ListedTab[] }>('list-tabs', {});
    return tabs.map((t) => {
      const info: TabInfo = {
        ...handle(t.id, t.tty, t.pid),
        tag: t.tag,
        group: t.group,
        title: t.title,
        // An untagged session is someone else's: its program is whatever runs there.
        alive: t.tag === null || t.exit === null,
      };
      if (t.exit !== null && /^\d+$/.test(t.exit)) info.exitStatus = Number(t.exit);
      return info;
    });
  }

  async closeTab(tab: TabHandle): Promise<void> {
    try {
      await this.#run<{ closed: boolean }>('close-tab', { target: targetOf(tab) });
    } catch (err) {
      if (err instanceof TerminalError && err.code === 'tab_gone') return;
      throw err;
    }
  }

  async dispose(): Promise<void> {
    // Tabs outlive this process by design; there is nothing held here.
  }

  /** One osascript run; an iTerm2 that is starting (-600) is retried with backoff. */
  async #run<T>(script: Script, args: object, opts: { timeoutMs?: number; retryLaunch?: boolean } = {}): Promise<T> {
    const deadline = Date.now() + this.#launchWaitMs;
    let delay = 250;
    for (let attempt = 1; ; attempt++) {
      try {
        const stdout = await this.#osascript1(script, args, opts.timeoutMs ?? this.#timeoutMs);
        return parseResult<T>(script, stdout);
      } catch (err) {
        const starting = err instanceof OsascriptFailure && err.number === -600;
        if (!starting || opts.retryLaunch === false || attempt >= 8 || Date.now() + delay > deadline) {
          throw toTerminalError(err, script, this.#osascript, opts.timeoutMs ?? this.#timeoutMs, this.#launchWaitMs);
        }
        await new Promise((r) => setTimeout(r, delay));
        delay *= 2;
      }
    }
  }

  #osascript1(script: Script, args: object, timeoutMs: number): Promise<string> {
    let file: string;
    try {
      file = join(dirname(launcherPath()), 'applescript', 'tabcrew.js');
    } catch (err) {
      return Promise.reject(new TerminalError(`cannot find tabcrew's iTerm2 script: ${(err as Error).message}`, 'failed'));
    }
    this.#calls++;
    return new Promise((resolve, reject) => {
      execFile(
        this.#osascript,
        ['-l', 'JavaScript', file, JSON.stringify({ op: script, ...args })],
        { encoding: 'utf8', timeout: timeoutMs, maxBuffer: MAX_BUFFER, env: terminalEnv(process.env, OSASCRIPT_EXTRA_ENV) },
        (err, stdout, stderr) => {
          if (err) reject(OsascriptFailure.from(err, stderr));
          else resolve(stdout);
        },
      );
    });
  }
}

function handle(id: string, tty: string | undefined, pid: string | null | undefined): TabHandle {
  const h: TabHandle = { backend: 'iterm2', id };
  if (typeof tty === 'string' && tty !== '') h.tty = tty;
  if (typeof pid === 'string' && /^\d+$/.test(pid)) h.pid = Number(pid);
  return h;
}

function targetOf(tab: TabHandle): Target {
  if (tab.backend !== 'iterm2') throw new TerminalError(`tab ${tab.id} belongs to the ${tab.backend} backend, not iTerm2`, 'failed');
  const target: Target = { id: tab.id };
  if (tab.tty !== undefined) target.tty = tab.tty;
  if (tab.pid !== undefined) target.pid = tab.pid;
  return target;
}

function parseResult<T>(script: Script, stdout: string): T {
  try {
    return JSON.parse(stdout) as T;
  } catch {
    throw new TerminalError(
      `tabcrew's iTerm2 script (tabcrew.js) answered ${script} with something that is not JSON: ${JSON.stringify(stdout.slice(0, 200))}`,
      'failed',
    );
  }
}

function asTabGone(err: unknown, tab: TabHandle): unknown {
  if (err instanceof TerminalError && err.code === 'tab_gone') {
    return new TerminalError(`tab ${tab.id} is gone (${err.message})`, 'tab_gone');
  }
  return err;
}

function lineCount(lines: number): number {
  if (!Number.isFinite(lines) || lines < 1) throw new TerminalError(`line count must be at least 1, got ${lines}`, 'failed');
  return Math.min(Math.floor(lines), MAX_LINES);
}
