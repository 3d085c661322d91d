/**
 * What only the iTerm2 backend does, against the iTerm2 emulator: its windows, its
 * osascript runs and their failures, and iTerm2 quitting or restarting.
 * The behaviour every backend shares is in conformance.ts.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { TerminalError, type TabHandle } from '../../src/terminals/backend.js';
import { ITerm2Backend } from '../../src/terminals/iterm2.js';
import { typedCommand } from '../../src/terminals/iterm2-command.js';
import { startEmulator } from '../iterm2-emulator/harness.js';
import {
  ended,
  ends,
  FOREVER,
  launcher,
  makeScratch,
  node,
  PASTE_END,
  PASTE_START,
  printing,
  record,
  runEnvDump,
  screenContaining,
  writtenJson,
  type EnvDump,
} from './fixtures.js';

const scratch = makeScratch('tabcrew-iterm2-test-');
const { root, workDir } = scratch;
const runtimeDir = join(root, 'runtime');
const emu = startEmulator(root);
const backend = new ITerm2Backend({ runtimeDir });
const launch = launcher({ group: 's-test01', cwd: workDir, title: 'test tab' });
const LEAK = 'TABCREW_TEST_NOT_GIVEN';
const SCRIPTS = resolve(import.meta.dirname, '../../scripts/applescript');

// The user's own window, opened before tabcrew's first tab and left in front.
const USER_WINDOW = `
function run(argv) {
  const app = Application('com.googlecode.iterm2');
  const window = app.createWindowWithDefaultProfile();
  return JSON.stringify({ window: window.id() });
}
`;

const printer = (text: string, group = 's-test01') => backend.createTab(launch({ group, argv: printing(text) }));

/** Starts a recorder tab, pastes `text` into it, and returns the bytes the program read. */
const pasteAndRecord = (text: string): Promise<Buffer> =>
  record(
    backend,
    scratch,
    (argv) => backend.createTab(launch({ argv })),
    'bracketed',
    (tab) => backend.paste(tab, text),
  );

/** The operation (`op`) of a logged run of tabcrew.js, or undefined for another script. */
function opOf(r: { script: string; arg: string | null }): string | undefined {
  if (basename(r.script) !== 'tabcrew.js' || r.arg === null) return undefined;
  return (JSON.parse(r.arg) as { op?: string }).op;
}

function runsOf(op: string, since: number): number {
  return emu
    .runs()
    .slice(since)
    .filter((r) => opOf(r) === op).length;
}

beforeAll(() => {
  writeFileSync(join(root, 'user-window.js'), USER_WINDOW);
  emu.install();
  // The emulated iTerm2's shells inherit the environment of the test process.
  process.env[LEAK] = 'must not reach the program';
});

afterAll(() => {
  delete process.env[LEAK];
  emu.uninstall();
  emu.stop();
  scratch.remove();
});

describe('ITerm2Backend against the iTerm2 emulator', { timeout: 60_000 }, () => {
  it('a tab runs its program in the given directory with exactly the given environment, TERM naming iTerm2', async () => {
    const { tab, env, seen } = await runEnvDump(scratch, (argv, env) => backend.createTab(launch({ argv, env })));
    expect(seen.cwd).toBe(workDir);
    expect(seen.env).toEqual({ ...env, TERM: 'xterm-256color' });
    expect(seen.env).not.toHaveProperty(LEAK);
    // The handle names the program: the launcher execs it in the process that reported its pid.
    expect(tab).toEqual({
      backend: 'iterm2',
      id: expect.stringMatching(/^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/),
      tty: expect.stringMatching(/^\/dev\//),
      pid: seen.pid,
    });
    await backend.closeTab(tab);
  });

  it('the launcher leaves no launch spec, and so no environment file, behind', async () => {
    const tab = await printer('spec check');
    await screenContaining(backend, tab, 'spec check');
    expect(readdirSync(join(runtimeDir, 'launch'))).toEqual([]);
    await backend.closeTab(tab);
  });

  it('a new tab is listed alive, in its group, with its tag and title, however odd they are, in one osascript run', async () => {
    const tag = 'agent;\n\x1f"x" \\; $(touch pwned) `id`';
    const title = "Agent_1 'quoted' \\ tab\there; $(touch pwned)";
    const tab = await backend.createTab(launch({ argv: [node, '-e', FOREVER], group: 's-listed', tag, title }));
    const runs = emu.runs().length;
    const calls = backend.calls;
    const listed = (await backend.listTabs()).find((t) => t.id === tab.id);
    expect(backend.calls - calls).toBe(1);
    expect(emu.runs().length - runs).toBe(1);
    expect(listed).toEqual({ ...tab, tag, group: 's-listed', title, alive: true });
    expect(existsSync(join(workDir, 'pwned'))).toBe(false);
    await backend.closeTab(tab);
  });

  it('creating a tab in an existing group takes one osascript run, and the group shares one window', async () => {
    const first = await printer('first', 's-window');
    const before = backend.calls;
    const runs = emu.runs().length;
    const second = await printer('second', 's-window');
    expect(backend.calls - before).toBe(1);
    expect(runsOf('create-tab', runs)).toBe(1);
    const windows = emu.stateJson().windows as { id: number; tabs: unknown[] }[];
    const windowOf = (guid: string) => windows.find((w) => JSON.stringify(w.tabs).includes(guid))?.id;
    expect(windowOf(first.id)).toBeDefined();
    expect(windowOf(second.id)).toBe(windowOf(first.id));
    await backend.closeTab(first);
    await backend.closeTab(second);
  });

  it("tabs are never opened in the user's own window, even when it is the front one", async () => {
    const user = emu.jxa<{ window: number }>(join(root, 'user-window.js'));
    const tab = await printer('not in your window', 's-user-check');
    const windows = emu.stateJson().windows as { id: number; tabs: { sessions: string[] }[] }[];
    const userWindow = windows.find((w) => w.id === user.window)!;
    expect(userWindow.tabs).toHaveLength(1);
    expect(windows.find((w) => w.tabs.some((t) => t.sessions.includes(tab.id)))!.id).not.toBe(user.window);
    await backend.closeTab(tab);
  });

  it('tabs created at the same time in a new group all land in that group and in one window', async () => {
    const tabs = await Promise.all([1, 2, 3].map((i) => backend.createTab(launch({ argv: [node, '-e', FOREVER], group: 's-race', tag: `race-${i}` }))));
    const listed = (await backend.listTabs()).filter((t) => t.group === 's-race');
    expect(listed.map((t) => t.tag).sort()).toEqual(['race-1', 'race-2', 'race-3']);
    const windows = emu.stateJson().windows as { tabs: { sessions: string[] }[] }[];
    expect(windows.filter((w) => w.tabs.some((t) => tabs.some((x) => t.sessions.includes(x.id))))).toHaveLength(1);
    for (const tab of tabs) await backend.closeTab(tab);
  });

  it('a paste too large for an argument goes through a private file that is removed afterwards', async () => {
    const text = `${'é0123456789abcdef\n'.repeat(5000)}end`;
    expect(Buffer.byteLength(text)).toBeGreaterThan(64 * 1024);
    const runs = emu.runs().length;
    expect((await pasteAndRecord(text)).toString('utf8')).toBe(`${PASTE_START}${text}${PASTE_END}`);
    const write = emu
      .runs()
      .slice(runs)
      .find((r) => opOf(r) === 'write' && r.arg?.includes('pasteFile'));
    expect(write).toBeDefined();
    expect(write!.arg).not.toContain('0123456789abcdef');
    expect(readdirSync(join(runtimeDir, 'paste'))).toEqual([]);
  });

  it('text that was not sanitised is refused before anything reaches iTerm2', async () => {
    const calls = backend.calls;
    const tab: TabHandle = { backend: 'iterm2', id: '00000000-0000-0000-0000-000000000000' };
    await expect(backend.paste(tab, 'end of paste \x1b[201~ then keys')).rejects.toMatchObject({
      code: 'failed',
      message: expect.stringMatching(/sanitised.*U\+001B/),
    });
    await expect(backend.paste(tab, 'a\r\nb')).rejects.toMatchObject({ code: 'failed' });
    expect(backend.calls).toBe(calls);
  });

  it("typing into a tab whose program ended fails as tab_gone and types nothing into the tab's shell", async () => {
    const tab = await backend.createTab(launch({ argv: [node, '-e', 'process.exit(0)'] }));
    await ended(backend, tab);
    await expect(backend.paste(tab, 'touch typed-into-shell')).rejects.toMatchObject({ code: 'tab_gone' });
    await expect(backend.sendKeys(tab, ['Enter'])).rejects.toMatchObject({ code: 'tab_gone' });
    expect(await backend.readScreen(tab, 50)).not.toContain('typed-into-shell');
    expect((await backend.listTabs()).some((t) => t.id === tab.id)).toBe(true);
    await backend.closeTab(tab);
  });

  it('a tab that came back with a new GUID and no variables (adopted after an iTerm2 restart) is found by its tty and pid', async () => {
    const tab = await printer('reattached');
    await screenContaining(backend, tab, 'reattached');
    // iTerm2 adopts a late-reattaching job as a new session: new GUID, no variables.
    const state = emu.stateJson();
    const newGuid = 'AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE';
    const session = { ...state.sessions[tab.id], guid: newGuid, vars: {} };
    delete state.sessions[tab.id];
    state.sessions[newGuid] = session;
    state.windows = JSON.parse(JSON.stringify(state.windows).replaceAll(tab.id, newGuid));
    emu.set({ sessions: state.sessions, windows: state.windows });

    expect(await backend.readScreen(tab, 10)).toBe('reattached');
    const listed = (await backend.listTabs()).find((t) => t.id === newGuid);
    expect(listed).toMatchObject({ tty: tab.tty, tag: null });
    await backend.closeTab(tab);
    expect((await backend.listTabs()).some((t) => t.id === newGuid)).toBe(false);
  });

  it('after iTerm2 quits, its tabs are gone and their programs ended', async () => {
    const out = scratch.file('quit.json');
    const tab = await backend.createTab(launch({ argv: [node, scratch.envDump, out] }));
    const { pid } = await writtenJson<EnvDump>(out, 'the program to start');
    emu.quit();
    expect(await backend.listTabs()).toEqual([]);
    await ends(pid);
    await expect(backend.readScreen(tab, 10)).rejects.toMatchObject({ code: 'tab_gone' });
  });

  it('with iTerm2 not running, listing finds no tabs and does not launch it', async () => {
    emu.quit(true);
    try {
      const calls = backend.calls;
      expect(await backend.listTabs()).toEqual([]);
      expect(await backend.readScreens([{ backend: 'iterm2', id: 'gone' }], 10)).toEqual(new Map());
      await expect(backend.closeTab({ backend: 'iterm2', id: 'gone' })).resolves.toBeUndefined();
      expect(backend.calls - calls).toBe(3);
      expect(emu.stateJson().app.running).toBe(false);
    } finally {
      emu.set({ app: { running: true } });
    }
  });

  it('creating a tab launches iTerm2 when it is not running and waits, with backoff, until it answers', async () => {
    emu.quit(true);
    emu.set({ app: { launchDelay: 2 } });
    try {
      const calls = backend.calls;
      const tab = await printer('after launch', 's-launch');
      // -600 twice while iTerm2 starts (NOTES.md: `open -a` returns before it is scriptable)
      expect(backend.calls - calls).toBe(3);
      await screenContaining(backend, tab, 'after launch');
      await backend.closeTab(tab);
    } finally {
      emu.set({ app: { launchDelay: 0, running: true } });
    }
  });

  it('the preflight reports the running iTerm2 version', async () => {
    expect(await backend.preflight()).toEqual({ running: true, version: '3.5.14' });
  });
});

describe('ITerm2Backend: osascript failures become errors a person can act on', { timeout: 60_000 }, () => {
  const handle: TabHandle = { backend: 'iterm2', id: '11111111-2222-4333-8444-555555555555' };
  const fault = async (code: number, run: () => Promise<unknown>) => {
    emu.set({ faults: [{ code, times: 1 }] });
    return run().catch((e: unknown) => e);
  };

  it('-600 that never clears: not_running, saying how to start iTerm2', async () => {
    const quick = new ITerm2Backend({ runtimeDir, launchWaitMs: 1500 });
    // an iTerm2 that cannot start at all
    process.env.TABCREW_EMULATOR_MODE = 'not_running';
    try {
      const failure = await quick.createTab(launch({ argv: [node] })).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(TerminalError);
      expect(failure).toMatchObject({ code: 'not_running', message: expect.stringMatching(/not running.*open -a iTerm/) });
      expect(quick.calls).toBeGreaterThan(2);
      expect(quick.calls).toBeLessThan(10);
    } finally {
      delete process.env.TABCREW_EMULATOR_MODE;
    }
  });

  it('-1743: denied, naming the Automation setting and the app that runs tabcrew', async () => {
    process.env.__CFBundleIdentifier = 'com.anthropic.claudefordesktop';
    process.env.TABCREW_EMULATOR_MODE = 'denied';
    try {
      const err = await backend.listTabs().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TerminalError);
      expect(err).toMatchObject({ code: 'denied' });
      expect((err as Error).message).toContain('System Settings › Privacy & Security › Automation › allow Claude to control iTerm2');
      expect((err as Error).message).toContain('tccutil reset AppleEvents com.anthropic.claudefordesktop');
    } finally {
      delete process.env.TABCREW_EMULATOR_MODE;
      delete process.env.__CFBundleIdentifier;
    }
  });

  it('-1728: tab_gone', async () => {
    const err = await fault(-1728, () => backend.readScreen(handle, 5));
    expect(err).toMatchObject({ code: 'tab_gone', message: expect.stringMatching(/tab 11111111-.* is gone.*-1728/) });
  });

  it('-1712: timeout, pointing at a dialog that waits for an answer', async () => {
    const err = await fault(-1712, () => backend.listTabs());
    expect(err).toMatchObject({ code: 'timeout', message: expect.stringMatching(/did not answer list-tabs in time.*dialog/) });
  });

  it('-1708: failed, naming the script and suggesting an iTerm2 update', async () => {
    const err = await fault(-1708, () => backend.listTabs());
    expect(err).toMatchObject({ code: 'failed', message: expect.stringMatching(/list-tabs.*-1708.*update/) });
  });

  it('-2741: failed, naming the script', async () => {
    const err = await fault(-2741, () => backend.readScreens([handle], 5));
    expect(err).toMatchObject({ code: 'failed', message: expect.stringMatching(/read-screens.*-2741/) });
  });

  it('osascript that does not answer in time is stopped and reported as timeout', async () => {
    const impatient = new ITerm2Backend({ runtimeDir, timeoutMs: 1000 });
    emu.set({ faults: [{ hangMs: 5000, times: 1 }] });
    const err = await impatient.listTabs().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'timeout', message: expect.stringMatching(/did not answer list-tabs within 1 s/) });
    // the killed run must not keep the emulator locked
    expect(await backend.listTabs()).toBeInstanceOf(Array);
  });

  it('no osascript at all (not a Mac): not_running, suggesting the tmux backend', async () => {
    const nowhere = new ITerm2Backend({ runtimeDir, osascriptPath: join(root, 'no-osascript-here') });
    const err = await nowhere.listTabs().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'not_running', message: expect.stringMatching(/osascript was not found.*--backend tmux/) });
  });
});

describe('iTerm2 scripts', () => {
  it('one script, tabcrew.js: a run(argv) program addressing iTerm2 by bundle id, with each helper defined once', () => {
    expect(readdirSync(SCRIPTS).sort()).toEqual(['tabcrew.js']);
    const text = readFileSync(join(SCRIPTS, 'tabcrew.js'), 'utf8');
    expect(text).toMatch(/^function run\(argv\) \{$/m);
    expect(text).not.toMatch(/Application\('iTerm2?'\)|\.whose\(/);
    const defined = [...text.matchAll(/^function (\w+)\(/gm)].map((m) => m[1]);
    expect(new Set(defined).size).toBe(defined.length);
    for (const fn of ['createTab', 'listTabs', 'readScreens', 'write', 'closeTab', 'preflight', 'variable', 'vanished', 'eachSession', 'findSessions']) {
      expect(defined).toContain(fn);
    }
    for (const op of ['create-tab', 'list-tabs', 'read-screens', 'write', 'close-tab', 'preflight']) {
      expect(text).toContain(`case '${op}':`);
    }
  });

  it('tabcrew.js refuses an unknown op, naming it', () => {
    const r = emu.osascript(['-l', 'JavaScript', join(SCRIPTS, 'tabcrew.js'), JSON.stringify({ op: 'list-tab' })]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/unknown op "list-tab"; expected create-tab, list-tabs/);
  });

  it('the start command typed into a tab is constant but for two checked paths, and short enough for a tty line', () => {
    const command = typedCommand('/opt/tabcrew/scripts/launch-tab.sh', '/Users/a b/runtime/launch/tab-x1');
    expect(command.length).toBeLessThan(1000);
    expect(command).toMatch(/^ \/bin\/bash -c '[^']*' tabcrew '[^']*' '\/opt\/tabcrew\/scripts\/launch-tab\.sh' '\/Users\/a b\/runtime\/launch\/tab-x1'$/);
    expect(() => typedCommand('/opt/tabcrew/launch-tab.sh', "/tmp/it's")).toThrow(/may hold only/);
    expect(() => typedCommand('/opt/tabcrew/launch-tab.sh', '/tmp/$(x)')).toThrow(/may hold only/);
  });
});
