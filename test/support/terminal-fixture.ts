import { delimiter, join, resolve } from 'node:path';
import { EMULATOR_DIR, startEmulator, type Emulator } from '../iterm2-emulator/harness.js';
import type { Crew } from './tabcrew.js';
import { waitForExit } from './tabcrew.js';

export type BackendUnderTest = 'tmux' | 'iterm2' | 'pty';

/** The backends the end-to-end scenarios run against; TABCREW_TEST_BACKENDS narrows it. */
export const BACKENDS: BackendUnderTest[] = ((process.env.TABCREW_TEST_BACKENDS ?? 'tmux,iterm2,pty').split(',') as BackendUnderTest[]).filter((b) =>
  ['tmux', 'iterm2', 'pty'].includes(b),
);

/** A terminal for one scenario, and the ways a test looks at it from outside tabcrew. */
export interface TerminalFixture {
  backend: BackendUnderTest;
  /** Extra `serve` flags. */
  args: string[];
  /** Extra environment for the server (the emulator's osascript first on PATH). */
  env(base: Record<string, string>): Record<string, string>;
  /** Titles of the tabs whose program still runs. */
  tabs(crew: Crew): Promise<string[]>;
  /** The terminal application dies with every tab: tmux killed, iTerm2 quits, or (pty) the server ends. */
  kill(crew: Crew): Promise<void>;
  /** Whether tabs survive the tabcrew process (pty tabs end with it, by design). */
  outlivesServer: boolean;
  /** osascript invocations by tools so far (iTerm2 only: the emulator logs each one). */
  osascriptRuns?(): number;
  stop(): void;
}

export function terminalFixture(backend: BackendUnderTest, base: string): TerminalFixture {
  if (backend === 'iterm2') return iterm2Fixture(base);
  if (backend === 'pty') return ptyFixture();
  return tmuxFixture();
}

function tmuxFixture(): TerminalFixture {
  return {
    backend: 'tmux',
    args: ['--backend', 'tmux'],
    env: (e) => e,
    tabs: async (crew) => crew.windows().sort(),
    async kill(crew) {
      let pids: number[] = [];
      try {
        pids = crew.tmux('list-panes', '-a', '-F', '#{pane_pid}').split('\n').filter(Boolean).map(Number);
        crew.tmux('kill-server');
      } catch {
        // already gone
      }
      await waitForExit(pids);
    },
    outlivesServer: true,
    stop() {},
  };
}

function iterm2Fixture(base: string): TerminalFixture {
  const emu: Emulator = startEmulator(base, 'e2e');
  const script = resolve(import.meta.dirname, '../../scripts/applescript/tabcrew.js');
  return {
    backend: 'iterm2',
    args: ['--backend', 'iterm2'],
    env: (e) => ({ ...e, ...emu.env, PATH: `${EMULATOR_DIR}${delimiter}${e.PATH ?? ''}` }),
    async tabs() {
      const r = emu.jxa<{ tabs: { title: string; exit?: unknown }[] }>(script, { op: 'list-tabs' });
      return r.tabs
        .filter((t) => t.exit === undefined || t.exit === null)
        .map((t) => t.title)
        .sort();
    },
    async kill() {
      emu.quit();
    },
    outlivesServer: true,
    // The start-up check (preflight) is the server's cost, not any tool's.
    osascriptRuns: () => emu.runs().filter((r) => (JSON.parse(r.arg ?? '{}') as { op?: string }).op !== 'preflight').length,
    stop: () => emu.stop(),
  };
}

function ptyFixture(): TerminalFixture {
  return {
    backend: 'pty',
    args: ['--backend', 'pty'],
    env: (e) => e,
    // PTY tabs live inside the server: what it reports is all there is to see.
    async tabs(crew) {
      const titles: string[] = [];
      for (const s of (await crew.ok('list_sessions')).sessions) {
        const status = await crew.ok('get_session_status', { session: s.session_id });
        for (const a of status.agents) if (!['detached', 'cleared', 'exited'].includes(a.status)) titles.push(a.agent);
      }
      return titles.sort();
    },
    async kill(crew) {
      await crew.disconnect();
    },
    outlivesServer: false,
    stop() {},
  };
}

export const scriptsDir = join(resolve(import.meta.dirname, '../..'), 'scripts');
