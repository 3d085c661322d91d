/**
 * The emulated iTerm2: windows, tabs and sessions, kept in a JSON state file between
 * osascript runs, each session a real terminal (a window of a private tmux server running
 * a shell). Everything here is synchronous because a JXA script is: each call is one
 * Apple event answered before the script goes on.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';

/** An error iTerm2 (or the Apple Event Manager) answers an event with. */
export class AppleEventError extends Error {
  constructor(number, message) {
    super(message);
    this.errorNumber = number;
  }
}

export const MESSAGES = {
  [-600]: "Application isn't running.",
  [-1708]: 'Message not understood.',
  [-1712]: 'AppleEvent timed out.',
  [-1728]: "Can't get object.",
  [-1743]: 'Not authorized to send Apple events to iTerm2.',
  [-10003]: 'Access not allowed.',
};

export const aeError = (number, message = MESSAGES[number] ?? 'An error occurred.') => new AppleEventError(number, message);

const SHELL = ['/bin/bash', '--noprofile', '--norc'];
const SIZE = { columns: 200, rows: 50 };
// iTerm2's "is processing": output arrived within the idle time (default 2 s, NOTES.md).
const PROCESSING_MS = 2000;
const LOCK_WAIT_MS = 30_000;

export function sleepMs(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.max(0, ms));
}

export function statePath(env = process.env) {
  return env.TABCREW_EMULATOR_STATE || join(tmpdir(), `tabcrew-iterm2-emulator-${process.getuid?.() ?? 0}`, 'state.json');
}

export function tmuxSocket(env = process.env, state = statePath(env)) {
  return env.TABCREW_EMULATOR_TMUX || `tabcrew-emu-${createHash('sha256').update(state).digest('hex').slice(0, 12)}`;
}

function emptyState() {
  return {
    app: { running: true, launchable: true, launching: 0, launchDelay: 0, version: '3.5.14', frontmost: false },
    mode: null,
    faults: [],
    nextWindowId: 2901,
    nextTabId: 1,
    // front to back, as `windows` orders them
    windows: [],
    sessions: {},
  };
}

export class Model {
  constructor(env = process.env) {
    this.env = env;
    this.path = statePath(env);
    this.dir = `${this.path}.d`;
    this.socket = tmuxSocket(env, this.path);
    this.state = emptyState();
    this.locked = false;
    this.launchingNow = false;
  }

  // ---- persistence -------------------------------------------------------------------

  /** Apple events reach iTerm2 one at a time (its main thread): so do emulator runs. */
  lock() {
    mkdirSync(dirname(this.path), { recursive: true });
    const lock = `${this.path}.lock`;
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
      try {
        mkdirSync(lock);
        writeFileSync(join(lock, 'pid'), String(process.pid));
        this.locked = true;
        return;
      } catch (err) {
        if (err.code !== 'EEXIST') throw err;
      }
      let holder = NaN;
      try {
        holder = Number(readFileSync(join(lock, 'pid'), 'utf8'));
      } catch {
        // being created or removed right now
      }
      if (Number.isInteger(holder) && holder > 0 && !alive(holder)) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw aeError(-1712);
      sleepMs(wait);
    }
  }

  unlock() {
    if (this.locked) rmSync(`${this.path}.lock`, { recursive: true, force: true });
    this.locked = false;
  }

  load() {
    if (existsSync(this.path)) {
      const saved = JSON.parse(readFileSync(this.path, 'utf8'));
      this.state = { ...emptyState(), ...saved, app: { ...emptyState().app, ...saved.app } };
    }
    return this;
  }

  save() {
    mkdirSync(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.state, null, 1));
    renameSync(tmp, this.path);
  }

  // ---- tmux ---------------------------------------------------------------------------

  tmux(args, input) {
    return execFileSync('tmux', ['-u', '-L', this.socket, ...args], {
      encoding: 'utf8',
      input: input ?? '',
      stdio: ['pipe', 'pipe', 'pipe'],
      maxBuffer: 256 * 1024 * 1024,
    });
  }

  livePanes() {
    try {
      return new Set(this.tmux(['list-panes', '-a', '-F', '#{pane_id}']).split('\n').filter(Boolean));
    } catch {
      return new Set(); // no server: every session is gone
    }
  }

  /** Sessions whose shell ended are gone, as iTerm2 closes their tab (and an empty window). */
  reconcile() {
    const panes = this.livePanes();
    for (const [guid, s] of Object.entries(this.state.sessions)) {
      if (!panes.has(s.pane)) this.forget(guid);
    }
  }

  forget(guid) {
    const s = this.state.sessions[guid];
    if (!s) return;
    delete this.state.sessions[guid];
    rmSync(this.logFile(s), { force: true });
    for (const w of this.state.windows) {
      for (const t of w.tabs) t.sessions = t.sessions.filter((g) => g !== guid);
      w.tabs = w.tabs.filter((t) => t.sessions.length > 0);
      w.currentTab = Math.min(w.currentTab, Math.max(0, w.tabs.length - 1));
    }
    this.state.windows = this.state.windows.filter((w) => w.tabs.length > 0);
  }

  logFile(s) {
    return join(this.dir, `${s.pane.slice(1)}.out`);
  }

  /**
   * Reads what a session's programs printed since last time and applies the escape code
   * iTerm2 acts on that the scripts depend on: OSC 1337 SetUserVar (NOTES.md).
   */
  absorb(s) {
    const file = this.logFile(s);
    let size;
    try {
      size = statSync(file).size;
    } catch {
      return;
    }
    if (size <= s.logOffset) return;
    const fd = openSync(file, 'r');
    const buf = Buffer.alloc(size - s.logOffset);
    readSync(fd, buf, 0, buf.length, s.logOffset);
    closeSync(fd);
    const text = buf.toString('latin1');
    let consumed = text.length;
    const re = /\x1b\]1337;SetUserVar=([^=\x07\x1b]*)=([^\x07\x1b]*)(?:\x07|\x1b\\)/g;
    for (const m of text.matchAll(re)) {
      if (m[1]) s.vars[`user.${m[1]}`] = Buffer.from(m[2], 'base64').toString('utf8');
    }
    // A sequence cut at the end of the log is read again, whole, next time.
    const open = text.lastIndexOf('\x1b]');
    if (open >= 0 && !/\x07|\x1b\\/.test(text.slice(open + 2))) consumed = open;
    s.logOffset += consumed;
  }

  absorbOutput() {
    for (const s of Object.values(this.state.sessions)) this.absorb(s);
  }

  // ---- app ----------------------------------------------------------------------------

  isRunning() {
    if (this.modeIs('not_running')) return false;
    return this.state.app.running;
  }

  modeIs(mode) {
    return this.env.TABCREW_EMULATOR_MODE === mode || this.state.mode === mode;
  }

  /** Checked before every Apple event: what keeps an event from reaching iTerm2. */
  checkEvent() {
    if (this.modeIs('denied')) throw aeError(-1743);
    if (!this.isRunning()) throw aeError(-600);
    if (this.launchingNow) throw aeError(-600);
  }

  launch() {
    if (this.modeIs('denied')) throw aeError(-1743);
    if (this.isRunning()) return;
    // TABCREW_EMULATOR_MODE=not_running is an iTerm2 that cannot start at all.
    if (this.modeIs('not_running') || this.state.app.launchable === false) return;
    this.state.app.running = true;
    // `open -a` returns before iTerm2 is scriptable (NOTES.md): this run and `launchDelay - 1`
    // later ones still get -600.
    const delay = this.state.app.launchDelay ?? 0;
    this.launchingNow = delay > 0;
    this.state.app.launching = Math.max(0, delay - 1);
  }

  /** iTerm2 quits: its sessions' jobs are killed (KillJobsInServersOnQuit), all windows close. */
  quit({ stayDown = false } = {}) {
    try {
      this.tmux(['kill-server']);
    } catch {
      // no server
    }
    rmSync(this.dir, { recursive: true, force: true });
    const { app, nextWindowId, nextTabId } = this.state;
    this.state = { ...emptyState(), app: { ...app, running: !stayDown, frontmost: false }, nextWindowId, nextTabId };
  }

  // ---- windows, tabs, sessions ----------------------------------------------------------

  window(id) {
    const w = this.state.windows.find((x) => x.id === id);
    if (!w) throw aeError(-1728);
    return w;
  }

  tab(ref) {
    const w = this.window(ref.window);
    const t = w.tabs.find((x) => x.tabId === ref.tabId);
    if (!t) throw aeError(-1728);
    return { w, t };
  }

  session(guid) {
    const s = this.state.sessions[guid];
    if (!s) throw aeError(-1728);
    return s;
  }

  tabOfSession(guid) {
    for (const w of this.state.windows) {
      for (const t of w.tabs) if (t.sessions.includes(guid)) return { w, t };
    }
    throw aeError(-1728);
  }

  /** A new tab: a tmux window running the shell, or `command` split into argv (no shell). */
  newSession(windowId, command) {
    const argv = command === undefined ? SHELL : splitCommand(command);
    if (argv.length === 0) throw aeError(-1708);
    mkdirSync(this.dir, { recursive: true });
    const target = `w${windowId}`;
    const print = ['-P', '-F', '#{window_id} #{pane_id} #{pane_pid} #{pane_tty}'];
    const env = ['-e', 'HISTFILE=/dev/null', '-e', 'PS1=$ '];
    const home = this.env.HOME || homedir();
    let out;
    try {
      out = this.tmux(['new-window', '-d', '-t', `=${target}:`, '-c', home, ...env, ...print, '--', ...argv]);
    } catch {
      out = this.tmux(['new-session', '-d', '-s', target, '-x', String(SIZE.columns), '-y', String(SIZE.rows), '-c', home, ...env, ...print, '--', ...argv]);
    }
    const [tmuxWindow, pane, pid, tty] = out.trim().split(' ');
    const s = {
      guid: randomUUID().toUpperCase(),
      pane,
      tmuxWindow,
      pid: Number(pid),
      tty,
      name: null,
      vars: {},
      logOffset: 0,
      created: Date.now(),
    };
    // Output is teed to a file so that escape codes the shell's programs print reach the model.
    this.tmux(['pipe-pane', '-O', '-t', pane, `exec cat >> ${shellQuote(this.logFile(s))}`]);
    this.state.sessions[s.guid] = s;
    return s;
  }

  createWindow(command) {
    const id = this.state.nextWindowId++;
    const s = this.newSession(id, command);
    const tab = { tabId: this.state.nextTabId++, sessions: [s.guid], current: s.guid };
    this.state.windows.unshift({ id, tabs: [tab], currentTab: 0 });
    // create window activates iTerm2 (NOTES.md)
    this.state.app.frontmost = true;
    return id;
  }

  createTab(windowId, command) {
    const w = this.window(windowId);
    const s = this.newSession(windowId, command);
    const tab = { tabId: this.state.nextTabId++, sessions: [s.guid], current: s.guid };
    w.tabs.push(tab);
    w.currentTab = w.tabs.length - 1;
    return { window: windowId, tabId: tab.tabId };
  }

  closeTab(ref) {
    const { t } = this.tab(ref);
    for (const guid of [...t.sessions]) this.killSession(guid);
  }

  closeWindow(id) {
    const w = this.window(id);
    for (const t of [...w.tabs]) this.closeTab({ window: id, tabId: t.tabId });
  }

  closeSession(guid) {
    const s = this.session(guid);
    // A session of a one-pane tab asks "close?" in a modal sheet while a job runs, and the
    // Apple event waits for the sheet until it times out (NOTES.md). The emulator answers
    // at once with the error the script would get two minutes later.
    if (this.jobPid(s) !== s.pid) throw aeError(-1712);
    this.killSession(guid);
  }

  killSession(guid) {
    const s = this.session(guid);
    try {
      this.tmux(['kill-pane', '-t', s.pane]);
    } catch {
      // already gone
    }
    this.forget(guid);
  }

  select(kind, ref) {
    if (kind === 'window') {
      const w = this.window(ref);
      this.state.windows = [w, ...this.state.windows.filter((x) => x !== w)];
    } else if (kind === 'tab') {
      const { w, t } = this.tab(ref);
      w.currentTab = w.tabs.indexOf(t);
    } else {
      const { w, t } = this.tabOfSession(ref);
      w.currentTab = w.tabs.indexOf(t);
      t.current = ref;
    }
  }

  // ---- session data ----------------------------------------------------------------------

  /**
   * iTerm2's `jobPid`: the deepest descendant of the session's process that is in its
   * tty's foreground process group (iTermProcessCache's deepestForegroundJob).
   */
  jobPid(s) {
    const procs = new Map();
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        procs.set(Number(name), { ppid: Number(f[1]), pgrp: Number(f[2]), tpgid: Number(f[5]) });
      } catch {
        // ended meanwhile
      }
    }
    const children = new Map();
    for (const [pid, p] of procs) {
      if (!children.has(p.ppid)) children.set(p.ppid, []);
      children.get(p.ppid).push(pid);
    }
    let best = { pid: s.pid, depth: -1 };
    const visit = (pid, depth) => {
      const p = procs.get(pid);
      if (p && p.tpgid > 0 && p.pgrp === p.tpgid && depth > best.depth) best = { pid, depth };
      if (depth < 64) for (const child of children.get(pid) ?? []) visit(child, depth + 1);
    };
    visit(s.pid, 0);
    return best.pid;
  }

  jobName(s) {
    const pid = this.jobPid(s);
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      return basename(SHELL[0]);
    }
  }

  contents(s) {
    // -J: a line the terminal wrapped reads as one, as iTerm2 joins soft-wrapped lines.
    return this.tmux(['capture-pane', '-p', '-J', '-S', '-', '-E', '-', '-t', s.pane]);
  }

  isProcessing(s) {
    try {
      return Date.now() - statSync(this.logFile(s)).mtimeMs < PROCESSING_MS;
    } catch {
      return false;
    }
  }

  variable(s, name) {
    const key = name.startsWith('session.') ? name.slice('session.'.length) : name;
    if (key.startsWith('user.')) {
      this.absorb(s);
      return s.vars[key];
    }
    switch (key) {
      case 'id':
        return s.guid;
      case 'tty':
        return s.tty;
      case 'pid':
        return String(s.pid);
      case 'jobPid':
        return String(this.jobPid(s));
      case 'jobName':
        return this.jobName(s);
      case 'name':
        return this.sessionName(s);
      case 'columns':
        return String(SIZE.columns);
      case 'rows':
        return String(SIZE.rows);
      case 'path':
        try {
          return readlinkSync(`/proc/${this.jobPid(s)}/cwd`);
        } catch {
          return undefined;
        }
      case 'tab.id':
        return String(this.tabOfSession(s.guid).t.tabId);
      default:
        return undefined;
    }
  }

  sessionName(s) {
    return s.name ?? this.jobName(s);
  }

  /** iTerm2's `write`: the text goes to the program as though typed, nothing added or bracketed. */
  write(s, text) {
    // iTerm2 waits (up to ~1 s) for the shell's first output before writing (NOTES.md).
    const deadline = Date.now() + 1000;
    while (Date.now() < deadline && this.contents(s).trim() === '') sleepMs(50);
    if (text === '') return;
    const buffer = `emu-${randomBytes(6).toString('hex')}`;
    // -r: LF stays LF; no -p: iTerm2's write does not bracket the text.
    this.tmux(['load-buffer', '-b', buffer, '-', ';', 'paste-buffer', '-d', '-r', '-b', buffer, '-t', s.pane], text);
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

function shellQuote(s) {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** iTerm2 splits a `command` into argv itself, honouring quotes, and runs no shell (NOTES.md). */
export function splitCommand(command) {
  const argv = [];
  let cur = null;
  let quote = null;
  for (const ch of command) {
    if (quote) {
      if (ch === quote) quote = null;
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      cur ??= '';
    } else if (/\s/.test(ch)) {
      if (cur !== null) argv.push(cur);
      cur = null;
    } else {
      cur = (cur ?? '') + ch;
    }
  }
  if (cur !== null) argv.push(cur);
  return argv;
}
