/**
 * What only the tmux backend does: its own server, its launcher, and its tmux calls.
 * The behaviour every backend shares is in conformance.ts.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { TerminalError } from '../../src/terminals/backend.js';
import { execFileSync } from 'node:child_process';
import { TmuxBackend } from '../../src/terminals/tmux.js';
import { tmuxSessionName } from '../../src/terminals/tmux-text.js';
import {
  ended,
  FOREVER,
  killTmuxServer,
  launcher,
  makeScratch,
  node,
  PASTE_END,
  PASTE_START,
  printing,
  runEnvDump,
  screenContaining,
  tmuxSocket,
  waitFor,
} from './fixtures.js';

// A tmux server of this file's own; the user's default server is never touched.
const socket = tmuxSocket('tabcrew-test');
const scratch = makeScratch('tabcrew-tmux-test-');
const { root, workDir } = scratch;
const runtimeDir = join(root, 'runtime');
const backend = new TmuxBackend({ socket, runtimeDir });
const launch = launcher({ group: 's-test01', cwd: workDir, title: 'test tab' });
const LEAK = 'TABCREW_TEST_NOT_GIVEN';

const printer = (text: string) => backend.createTab(launch({ argv: printing(text) }));
/**
 * tmux on this file's server, as a person at the terminal would run it. A server whose last tab
 * just closed lingers for a moment while the backend's control client takes `%exit`, closing new
 * connections unread ("server exited unexpectedly"): a person would run the command again.
 */
const tmux = (...args: string[]): string => {
  for (let attempt = 1; ; attempt++) {
    try {
      return execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      if (attempt >= 20 || !/server exited unexpectedly/.test(String((e as { stderr?: string }).stderr))) throw e;
      execFileSync('sleep', ['0.05']);
    }
  }
};

beforeAll(() => {
  // The tmux server inherits the environment of the test process that starts it.
  process.env[LEAK] = 'must not reach the program';
});

afterAll(() => {
  delete process.env[LEAK];
  killTmuxServer(socket);
  scratch.remove();
});

describe('TmuxBackend', { timeout: 30_000 }, () => {
  it('a tab runs its program in the given directory with exactly the given environment, TERM naming tmux', async () => {
    const { tab, env, seen } = await runEnvDump(scratch, (argv, env) => backend.createTab(launch({ argv, env })));
    expect(seen.cwd).toBe(workDir);
    expect(seen.env).toEqual({ ...env, TERM: 'screen-256color' });
    expect(seen.env).not.toHaveProperty(LEAK);
    expect(seen.env).not.toHaveProperty('TMUX');
    expect(tab).toMatchObject({ backend: 'tmux', id: expect.stringMatching(/^@\d+$/), pane: expect.stringMatching(/^%\d+$/) });
    // The launcher execs, so the tab's pid is the program's own.
    expect(tab.pid).toBe(seen.pid);
    await backend.closeTab(tab);
  });

  it('the launcher leaves no launch spec, and so no environment file, behind', async () => {
    const before = readdirSync(join(runtimeDir, 'launch'));
    const tab = await printer('spec check');
    await screenContaining(backend, tab, 'spec check');
    expect(readdirSync(join(runtimeDir, 'launch'))).toEqual(before);
    await backend.closeTab(tab);
  });

  it('a new tab is listed alive, in its group, with its tag and title, control characters and tmux formats included', async () => {
    const tag = 'agent;\n\x1f\x1e#{pane_id} "x" \\;';
    const title = 'Agent_1 #{window_id} #(touch pwned) \\ tab\there;';
    const tab = await backend.createTab(launch({ argv: [node, '-e', FOREVER], group: 's-listed', tag, title }));
    const listed = (await backend.listTabs()).find((t) => t.id === tab.id);
    expect(listed).toEqual({ ...tab, tag, group: 's-listed', title, alive: true });
    expect(existsSync(join(workDir, 'pwned'))).toBe(false);
    await backend.closeTab(tab);
  });

  it("a tab's tmux session is named after its group's title, then the group; listTabs still gives the group", async () => {
    const tab = await backend.createTab(launch({ argv: [node, '-e', FOREVER], group: 's-named01', groupTitle: 'My app: v2.0 / café' }));
    const session = tmux('display-message', '-p', '-t', tab.pane!, '#{session_name}').trim();
    expect(session).toBe('My-app-v2-0-cafe-s-named01');
    expect((await backend.listTabs()).find((t) => t.id === tab.id)?.group).toBe('s-named01');
    // A second tab of the group goes to the same tmux session.
    const second = await backend.createTab(launch({ argv: [node, '-e', FOREVER], group: 's-named01', groupTitle: 'My app: v2.0 / café' }));
    expect(tmux('display-message', '-p', '-t', second.pane!, '#{session_name}').trim()).toBe(session);
    await backend.closeTab(tab);
    await backend.closeTab(second);
  });

  it('tmux session names: only letters, digits, _ and -; a title with none of them leaves the group alone', () => {
    expect(tmuxSessionName('s-1', 'a.b:c')).toBe('a-b-c-s-1');
    expect(tmuxSessionName('s-1', '***')).toBe('s-1');
    expect(tmuxSessionName('s-1')).toBe('s-1');
    expect(tmuxSessionName('s-1', 'x'.repeat(100))).toBe(`${'x'.repeat(32)}-s-1`);
  });

  it('a tagged window in a tmux session named by its group alone (older tabcrew) is listed with that group and its tag', async () => {
    tmux('new-session', '-d', '-s', 's-old01', '-x', '80', '-y', '20', 'sleep 60');
    tmux('set-option', '-w', '-t', 's-old01:', '@tabcrew_tag', 'tabcrew:Agent_1:old');
    const listed = (await backend.listTabs()).find((t) => t.tag === 'tabcrew:Agent_1:old');
    expect(listed).toMatchObject({ group: 's-old01', alive: true });
    await backend.closeTab(listed!);
  });

  it("the pane keeps tabcrew's title when its program sets another (Claude Code's kitty-graphics probe, OSC 2)", async () => {
    // What Claude Code writes at start: an APC that tmux 3.3 takes for a title; then a plain title change.
    const program = `setTimeout(() => process.stdout.write('\\x1b_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\\x1b\\\\'), 300);
      setTimeout(() => process.stdout.write('\\x1b]2;something else\\x07'), 600);
      setTimeout(() => console.log('titles sent'), 900); ${FOREVER}`;
    const title = 'Agent_7 #{pane_id} "q" \\;';
    const tab = await backend.createTab(launch({ argv: [node, '-e', program], title }));
    await screenContaining(backend, tab, 'titles sent');
    const paneTitle = () => tmux('display-message', '-p', '-t', tab.pane!, '#{pane_title}').replace(/\n$/, '');
    await waitFor('the title back', () => (paneTitle() === title ? true : undefined), 3000);
    await new Promise((r) => setTimeout(r, 300));
    expect(paneTitle()).toBe(title);
    expect((await backend.listTabs()).find((t) => t.id === tab.id)?.title).toBe(title);
    await backend.closeTab(tab);
  });

  it('creating a tab in an existing group takes one tmux call', async () => {
    const first = await printer('first');
    const before = backend.calls;
    const second = await printer('second');
    expect(backend.calls - before).toBe(1);
    await backend.closeTab(first);
    await backend.closeTab(second);
  });

  it('tabs created at the same time in a new group all land in that group', async () => {
    const tabs = await Promise.all([1, 2, 3].map((i) => backend.createTab(launch({ argv: [node, '-e', FOREVER], group: 's-race', tag: `race-${i}` }))));
    const listed = (await backend.listTabs()).filter((t) => t.group === 's-race');
    expect(listed.map((t) => t.tag).sort()).toEqual(['race-1', 'race-2', 'race-3']);
    for (const tab of tabs) await backend.closeTab(tab);
  });

  it('typeMany pastes into several tabs and presses their keys in one tmux call, each text byte for byte', async () => {
    const outs = [scratch.file('many-a'), scratch.file('many-b')];
    const tabs = await Promise.all(outs.map((out) => backend.createTab(launch({ argv: [node, scratch.recorder, out, 'bracketed'] }))));
    for (const tab of tabs) await screenContaining(backend, tab, 'READY');
    const texts = ['first tab\nsecond line; with #{pane_id} and ~/$HOME', 'x'.repeat(5000)];
    const calls = backend.calls;
    const results = await backend.typeMany([
      { tab: tabs[0]!, text: texts[0]! },
      { tab: tabs[1]!, text: texts[1]! },
      { tab: tabs[0]!, keys: ['Enter', 'C-c'] },
      { tab: tabs[1]!, keys: ['C-c'] },
    ]);
    expect(results).toEqual([undefined, undefined, undefined, undefined]);
    expect(backend.calls - calls).toBe(1);
    const received = await Promise.all(outs.map((out) => waitFor('the recording', () => (existsSync(out) ? readFileSync(out, 'utf8') : undefined))));
    expect(received).toEqual([`${PASTE_START}${texts[0]}${PASTE_END}\r`, `${PASTE_START}${texts[1]}${PASTE_END}`]);
    // The texts went through files that are gone once tmux answered; no buffer is left in tmux.
    expect(readdirSync(join(runtimeDir, 'paste'))).toEqual([]);
    expect(tmux('list-buffers')).toBe('');
    for (const tab of tabs) await backend.closeTab(tab);
  });

  it('typeMany: a closed tab and a tab whose program ended fail on their own, the others are typed', async () => {
    const out = scratch.file('many-live');
    const live = await backend.createTab(launch({ argv: [node, scratch.recorder, out, 'plain'] }));
    const closed = await printer('closed before typing');
    const dead = await backend.createTab(launch({ argv: [node, '-e', 'process.exit(0)'] }));
    await screenContaining(backend, live, 'READY');
    await ended(backend, dead);
    await backend.closeTab(closed);
    // A handle without its pane (a window id alone) types into the window's pane.
    const byWindow = { backend: 'tmux' as const, id: live.id };
    const results = await backend.typeMany([
      { tab: closed, text: 'into a closed tab' },
      { tab: dead, text: 'into an ended program' },
      { tab: { backend: 'tmux', id: dead.id }, text: 'into an ended program, by window' },
      { tab: closed, keys: ['Enter'] },
      { tab: live, text: 'still typed' },
      { tab: byWindow, text: ', by window too' },
      { tab: byWindow, keys: ['C-c'] },
    ]);
    expect(results.map((r) => r?.code)).toEqual(['tab_gone', 'tab_gone', 'tab_gone', 'tab_gone', undefined, undefined, undefined]);
    expect(await waitFor('the recording', () => (existsSync(out) ? readFileSync(out, 'utf8') : undefined))).toBe('still typed, by window too');
    expect(tmux('list-buffers')).toBe('');
    await backend.closeTab(live);
    await backend.closeTab(dead);
  });

  it('typeMany splits a list longer than tmux takes in one message over several calls, in order', async () => {
    const out = scratch.file('many-long');
    const tab = await backend.createTab(launch({ argv: [node, scratch.recorder, out, 'plain'] }));
    await screenContaining(backend, tab, 'READY');
    const parts = Array.from({ length: 120 }, (_, i) => `<${i}>`);
    const calls = backend.calls;
    const results = await backend.typeMany([...parts.map((text) => ({ tab, text })), { tab, keys: ['C-c'] as const }]);
    expect(results.every((r) => r === undefined)).toBe(true);
    expect(backend.calls - calls).toBeGreaterThan(1);
    expect(await waitFor('the recording', () => (existsSync(out) ? readFileSync(out, 'utf8') : undefined))).toBe(parts.join(''));
    await backend.closeTab(tab);
  });

  it('listTabs with no tmux server running returns an empty list', async () => {
    const idle = new TmuxBackend({ socket: `${socket}-never-started`, runtimeDir });
    expect(await idle.listTabs()).toEqual([]);
    expect(await idle.readScreens([{ backend: 'tmux', id: '@1', pane: '%1' }], 10)).toEqual(new Map());
    await expect(idle.closeTab({ backend: 'tmux', id: '@1' })).resolves.toBeUndefined();
  });

  it('a missing tmux is reported as not_running with how to install it', async () => {
    const missing = new TmuxBackend({ socket, runtimeDir, tmuxPath: join(root, 'no-tmux-here') });
    const specsBefore = readdirSync(join(runtimeDir, 'launch'));
    const err = await missing.listTabs().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TerminalError);
    expect(err).toMatchObject({ code: 'not_running', message: expect.stringMatching(/apt-get install tmux.*--backend pty/) });
    await expect(missing.createTab(launch({ argv: [node] }))).rejects.toMatchObject({ code: 'not_running' });
    // The spec of a tab that never started is removed with its environment.
    expect(readdirSync(join(runtimeDir, 'launch'))).toEqual(specsBefore);
  });
});
