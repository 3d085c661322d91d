/**
 * An iTerm2 emulator of a test's own: its state file, log and tmux server live under the
 * test's temp directory, and `stop()` kills the tmux server (every session's processes).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';

export const EMULATOR_DIR = resolve(import.meta.dirname);
export const OSASCRIPT = join(EMULATOR_DIR, 'osascript');

export interface Emulator {
  env: Record<string, string>;
  state: string;
  log: string;
  socket: string;
  /** Runs the emulator's osascript; never throws. */
  osascript(args: string[], extraEnv?: Record<string, string>): { status: number | null; stdout: string; stderr: string };
  /** Runs a JXA file with one JSON argument and returns the parsed JSON it printed. */
  jxa<T = unknown>(file: string, arg?: unknown): T;
  /** The runs logged so far, as {script, arg}. */
  runs(): { script: string; arg: string | null }[];
  /** Merges a patch into the emulator's state (faults, app, mode). */
  set(patch: object): void;
  stateJson(): any;
  /** iTerm2 quits: every session's processes are killed, the model is emptied. */
  quit(stayDown?: boolean): void;
  /** Puts this emulator first on PATH, with its state, in process.env (for a backend under test). */
  install(): void;
  uninstall(): void;
  stop(): void;
}

export function startEmulator(root: string, name = 'emu'): Emulator {
  const state = join(root, `${name}-state.json`);
  const log = join(root, `${name}-runs.jsonl`);
  const socket = `tabcrew-emu-test-${process.pid}-${name}`;
  const env: Record<string, string> = {
    TABCREW_EMULATOR_STATE: state,
    TABCREW_EMULATOR_TMUX: socket,
    TABCREW_EMULATOR_LOG: log,
  };
  const saved: Record<string, string | undefined> = {};
  const run = (args: string[], extraEnv: Record<string, string> = {}) => {
    const r = spawnSync(OSASCRIPT, args, { env: { ...process.env, ...env, ...extraEnv }, encoding: 'utf8', timeout: 60_000 });
    return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  };
  const emu: Emulator = {
    env,
    state,
    log,
    socket,
    osascript: run,
    jxa<T>(file: string, arg: unknown = {}): T {
      const r = run(['-l', 'JavaScript', file, JSON.stringify(arg)]);
      if (r.status !== 0) throw new Error(`osascript ${file} failed (${r.status}): ${r.stderr}`);
      return JSON.parse(r.stdout) as T;
    },
    runs() {
      if (!existsSync(log)) return [];
      return readFileSync(log, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { script: string; arg: string | null });
    },
    set(patch: object) {
      const r = run(['--emulator-set', JSON.stringify(patch)]);
      if (r.status !== 0) throw new Error(`emulator-set failed: ${r.stderr}`);
    },
    stateJson() {
      return JSON.parse(run(['--emulator-state']).stdout);
    },
    quit(stayDown = false) {
      const r = run(['--emulator-quit', ...(stayDown ? ['--stay-down'] : [])]);
      if (r.status !== 0) throw new Error(`emulator-quit failed: ${r.stderr}`);
    },
    install() {
      for (const key of ['PATH', ...Object.keys(env)]) saved[key] = process.env[key];
      Object.assign(process.env, env);
      process.env.PATH = `${EMULATOR_DIR}${delimiter}${process.env.PATH ?? ''}`;
    },
    uninstall() {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    },
    stop() {
      try {
        execFileSync('tmux', ['-L', socket, 'kill-server'], { stdio: 'ignore' });
      } catch {
        // no server left to kill
      }
      // tmux leaves its socket file behind when the server exits.
      const socketDir = join(process.env.TMUX_TMPDIR ?? '/tmp', `tmux-${process.getuid?.() ?? 0}`);
      rmSync(join(socketDir, socket), { force: true });
      rmSync(state, { force: true });
      rmSync(`${state}.d`, { recursive: true, force: true });
      rmSync(`${state}.lock`, { recursive: true, force: true });
    },
  };
  return emu;
}
