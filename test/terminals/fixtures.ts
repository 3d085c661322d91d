/**
 * Scaffolding shared by the terminal-backend tests: the programs they run in tabs, their
 * scratch directories, and the ways they wait on a tab. conformance.ts and each backend's
 * own test file use these; none of them holds a copy.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { TabHandle, TabLaunch, TerminalBackend } from '../../src/terminals/backend.js';

export const node = process.execPath;
export const PATH = process.env.PATH ?? '/usr/bin:/bin';
/** A program body that keeps running until its tab is closed. */
export const FOREVER = 'setInterval(() => {}, 60_000)';
export const PASTE_START = '\x1b[200~';
export const PASTE_END = '\x1b[201~';
// Generous: two cores shared with other test runs, and tmux/node start-up each take time.
const WAIT_MS = 20_000;

/**
 * Records every byte typed until Ctrl-C (which sanitised text can never contain). Raw
 * mode, so the tty neither echoes nor cuts a line near 4096 bytes as canonical mode does.
 * `mode` chooses what the program asks of the terminal before it says READY:
 * `plain`, `bracketed` (bracketed paste on), or `on-then-off` (on, then off again).
 */
const RECORDER = `
const fs = require('fs');
const [out, mode] = process.argv.slice(2);
process.stdin.setRawMode(true);
if (mode === 'on-then-off') process.stdout.write('\\x1b[?2004h\\x1b[?2004l');
if (mode === 'bracketed') process.stdout.write('\\x1b[?2004h');
const chunks = [];
process.stdin.on('data', (d) => {
  const end = d.indexOf(3);
  if (end < 0) return void chunks.push(d);
  chunks.push(d.subarray(0, end));
  fs.writeFileSync(out + '.part', Buffer.concat(chunks));
  fs.renameSync(out + '.part', out);
  process.exit(0);
});
process.stdout.write('READY\\r\\n');
`;

/** Writes its environment, cwd and pid to argv[2] as JSON, then runs until its tab is closed. */
const ENV_DUMP = `
const fs = require('fs');
fs.writeFileSync(process.argv[2] + '.part', JSON.stringify({ env: process.env, cwd: process.cwd(), pid: process.pid }));
fs.renameSync(process.argv[2] + '.part', process.argv[2]);
setInterval(() => {}, 60_000);
`;

export type RecorderMode = 'plain' | 'bracketed' | 'on-then-off';

export interface EnvDump {
  env: Record<string, string>;
  cwd: string;
  pid: number;
}

/** A test file's private directory, with a work directory and the two programs in it. */
export interface Scratch {
  root: string;
  workDir: string;
  /** Path of the recorder program. */
  recorder: string;
  /** Path of the environment-dump program. */
  envDump: string;
  /** A fresh path under root for a program to write to. */
  file(prefix: string): string;
  remove(): void;
}

export function makeScratch(prefix: string, workName = 'work'): Scratch {
  const root = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  const workDir = join(root, workName);
  mkdirSync(workDir);
  const recorder = join(root, 'recorder.cjs');
  const envDump = join(root, 'envdump.cjs');
  writeFileSync(recorder, RECORDER);
  writeFileSync(envDump, ENV_DUMP);
  return {
    root,
    workDir,
    recorder,
    envDump,
    file: (p) => join(root, `${p}-${randomBytes(4).toString('hex')}`),
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** Builds launches with these defaults, a fresh tag each, overridden by `over`. */
export function launcher(defaults: { group: string; cwd: string; title: string }) {
  return (over: Partial<TabLaunch> & Pick<TabLaunch, 'argv'>): TabLaunch => ({
    ...defaults,
    env: { PATH },
    tag: `tag-${randomBytes(4).toString('hex')}`,
    ...over,
  });
}

/** The argv of a program that prints `text` and runs until its tab is closed. */
export const printing = (text: string): string[] => [node, '-e', `console.log(${JSON.stringify(text)}); ${FOREVER}`];

/** Polls `probe` until it gives a value; bounded in time and in tries. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = WAIT_MS): Promise<T> {
  const deadline = Date.now() + ms;
  for (let i = 0; i < 2000 && Date.now() < deadline; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

/** The screen of `tab` once it shows `text`. */
export function screenContaining(backend: TerminalBackend, tab: TabHandle, text: string, lines = 50): Promise<string> {
  return waitFor(`"${text}" on the screen of ${tab.id}`, async () => {
    const screen = await backend.readScreen(tab, lines);
    return screen.includes(text) ? screen : undefined;
  });
}

/** The listing of `tab` once its program has ended and its exit status is known. */
export function ended(backend: TerminalBackend, tab: TabHandle) {
  return waitFor(`the program in ${tab.id} to end`, async () =>
    (await backend.listTabs()).find((t) => t.id === tab.id && !t.alive && t.exitStatus !== undefined),
  );
}

/** The JSON a program wrote whole (then renamed) to `path`. */
export function writtenJson<T>(path: string, what: string): Promise<T> {
  return waitFor(what, () => (existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as T) : undefined));
}

/**
 * Runs the environment dump in a tab (opened by `open`, given its argv and environment)
 * with an environment a shell would mangle, and returns the tab, that environment and
 * what the program saw.
 */
export async function runEnvDump(scratch: Scratch, open: (argv: string[], env: Record<string, string>) => Promise<TabHandle>) {
  const out = scratch.file('env.json');
  const env = {
    PATH,
    HOME: scratch.workDir,
    // The tmux launcher's bash would otherwise set one of its own.
    SHLVL: '4',
    TABCREW_GIVEN: 'a value with spaces,\nnewlines, "quotes" and $(no expansion);',
  };
  const tab = await open([node, scratch.envDump, out], env);
  return { tab, env, seen: await writtenJson<EnvDump>(out, 'the environment dump') };
}

/**
 * Opens the recorder in a tab (through `open`, given its argv), lets `type` type into it
 * once it is READY, ends it with Ctrl-C, closes the tab and returns the bytes it read.
 */
export async function record(
  backend: TerminalBackend,
  scratch: Scratch,
  open: (argv: string[]) => Promise<TabHandle>,
  mode: RecorderMode,
  type: (tab: TabHandle) => Promise<void>,
): Promise<Buffer> {
  const out = scratch.file('received');
  const tab = await open([node, scratch.recorder, out, mode]);
  await screenContaining(backend, tab, 'READY');
  await type(tab);
  await backend.sendKeys(tab, ['C-c']);
  const received = await waitFor('the recording', () => (existsSync(out) ? readFileSync(out) : undefined));
  await backend.closeTab(tab);
  return received;
}

/** True while `pid` runs; a zombie (ended, not yet reaped by its parent or init) does not. */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (process.platform !== 'linux') return true;
  try {
    // Fields after the command name, which may itself hold spaces and parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false; // reaped in the meantime
  }
}

/** Waits until `pid` no longer runs. */
export const ends = (pid: number, ms?: number) => waitFor(`pid ${pid} to end`, () => (isRunning(pid) ? undefined : true), ms);

/** A tmux socket name of this test process's own; the user's default server is never touched. */
export const tmuxSocket = (prefix: string): string => `${prefix}-${process.pid}-${randomBytes(4).toString('hex')}`;

/** Kills the tmux server on `socket`, if any, and removes the socket file tmux leaves behind. */
export function killTmuxServer(socket: string): void {
  try {
    execFileSync('tmux', ['-L', socket, 'kill-server'], { stdio: 'ignore' });
  } catch {
    // no server left to kill
  }
  const socketDir = join(process.env.TMUX_TMPDIR ?? '/tmp', `tmux-${process.getuid?.() ?? 0}`);
  rmSync(join(socketDir, socket), { force: true });
}
