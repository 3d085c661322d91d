import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TmuxBackend } from '../../src/terminals/tmux.js';
import { until } from '../support/until.js';
import { killTmuxServer } from './fixtures.js';

/*
 * Every status lists the tabs. Through a control-mode client kept open (terminals/tmux-control.ts)
 * a listing starts no tmux process; without one (no session yet, the session it was attached to
 * gone) the backend starts tmux as before, and the answers are the same.
 */

const root = mkdtempSync(join(tmpdir(), 'tabcrew-tmux-ctl-'));
const socket = `tabcrew-ctl-${process.pid}`;
const log = join(root, 'tmux.log');
// A tmux that notes each start (its argv) before it runs: the count of tmux processes.
const tmuxPath = join(root, 'tmux');
writeFileSync(tmuxPath, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\nexec tmux "$@"\n`);
chmodSync(tmuxPath, 0o755);
const starts = (): string[] => readFileSync(log, 'utf8').trim().split('\n');
// A tmux without control mode (as before 3.2 would be): every listing is a tmux process.
const noControl = join(root, 'tmux-no-control');
writeFileSync(noControl, `#!/bin/sh\nfor a in "$@"; do [ "$a" = -C ] && { echo 'usage: tmux' >&2; exit 1; }; done\nexec tmux "$@"\n`);
chmodSync(noControl, 0o755);

afterAll(() => {
  killTmuxServer(socket);
  rmSync(root, { recursive: true, force: true });
});

const launch = (group: string, title: string) => ({
  group,
  cwd: root,
  argv: ['/bin/sleep', '30'],
  env: { PATH: '/usr/bin:/bin' },
  title,
  tag: `tabcrew:${title} it's "quoted"; #{not_a_format} \x1f`,
});
const clients = (): string => execFileSync('tmux', ['-L', socket, 'list-clients', '-F', '#{client_flags}'], { encoding: 'utf8' });

describe('the tab listing over tmux control mode', () => {
  const b = new TmuxBackend({ socket, runtimeDir: join(root, 'rt'), tmuxPath });

  it('lists the tabs without starting a tmux process for each listing, as a tmux process would list them', async () => {
    expect(await b.listTabs()).toEqual([]); // no server yet: nothing to attach to
    await b.createTab(launch('g1', 'a'));
    await b.createTab(launch('g2', 'b'));
    const plain = new TmuxBackend({ socket, runtimeDir: join(root, 'rt'), tmuxPath: noControl });
    const byProcess = await plain.listTabs();
    expect(await plain.listTabs()).toEqual(byProcess);
    // The first look found no server; a client is attached at the next look a second later.
    await until(
      'a listing that starts no tmux process',
      async () => {
        const n = starts().length;
        await b.listTabs();
        return starts().length === n ? true : undefined;
      },
      5000,
      100,
    );
    const before = starts().length;
    const calls = b.calls;
    for (let i = 0; i < 20; i++) expect(await b.listTabs()).toEqual(byProcess);
    expect(starts().length).toBe(before);
    expect(b.calls).toBe(calls + 20);
    expect(byProcess.map((t) => t.tag)).toEqual([launch('g1', 'a').tag, launch('g2', 'b').tag]);
    // It never sizes a window and is not sent the panes' output.
    expect(clients()).toMatch(/ignore-size/);
    expect(clients()).toMatch(/no-output/);
  });

  it('when the session it was attached to ends, the next listing is still right, and a later one goes through a new client', async () => {
    const attached = execFileSync('tmux', ['-L', socket, 'list-clients', '-F', '#{session_name}'], { encoding: 'utf8' }).trim();
    execFileSync('tmux', ['-L', socket, 'kill-session', '-t', attached]);
    const left = await b.listTabs();
    expect(left).toHaveLength(1);
    await until('a new control client', async () => ((await b.listTabs()).length === 1 && clients().trim() !== '' ? true : undefined), 5000, 100);
    const before = starts().length;
    expect(await b.listTabs()).toEqual(left);
    expect(starts().length).toBe(before);
  });

  it('dispose lets the client go; the tabs stay', async () => {
    await b.dispose();
    await until('no client', async () => (clients().trim() === '' ? true : undefined), 5000, 50);
    expect(await new TmuxBackend({ socket, runtimeDir: join(root, 'rt'), tmuxPath: noControl }).listTabs()).toHaveLength(1);
  });

  it.each(['process.exit(0)', "process.kill(process.pid, 'SIGTERM')", "process.kill(process.pid, 'SIGKILL')"])(
    'a tmux server told to exit just before this process ends (%s) still exits: the control client goes with the process',
    (ending) => {
      // tmux writes `%exit` to a control client's stdout and waits until it is written; with the
      // process that reads it gone, the server would wait forever and refuse every client.
      const other = `${socket}-exit-${ending.length}`;
      const tmuxJs = fileURLToPath(new URL('../../dist/terminals/tmux.js', import.meta.url));
      const script = `
      const { TmuxBackend } = await import(${JSON.stringify(tmuxJs)});
      const { execFileSync } = await import('node:child_process');
      const b = new TmuxBackend({ socket: ${JSON.stringify(other)}, runtimeDir: ${JSON.stringify(join(root, 'rt2'))} });
      await b.createTab({ group: 'g', cwd: '/', argv: ['/bin/sleep', '30'], env: {}, title: 't', tag: 't' });
      await new Promise((r) => setTimeout(r, 1100)); // past the first look's retry pause
      await b.listTabs();
      await b.listTabs();
      execFileSync('tmux', ['-L', ${JSON.stringify(other)}, 'kill-server']);
      ${ending};`;
      for (let i = 0; i < 3; i++) {
        spawnSync(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore', timeout: 20_000 });
        const deadline = Date.now() + 3000;
        let alive = true;
        while (alive && Date.now() < deadline) {
          try {
            execFileSync('pgrep', ['-f', '--', `-L ${other} `], { stdio: 'ignore' });
            execFileSync('sleep', ['0.1']);
          } catch {
            alive = false;
          }
        }
        if (alive) execFileSync('pkill', ['-f', '--', `-L ${other} `], { stdio: 'ignore' });
        expect(alive).toBe(false);
      }
    },
  );
});

describe('screens read over tmux control mode', () => {
  // A recovery's sixteen starting agents each have their screen read once (no dialog on it):
  // a tmux process each was the largest item of tabcrew's CPU while they boot.
  const b = new TmuxBackend({ socket, runtimeDir: join(root, 'rt'), tmuxPath });
  const plain = new TmuxBackend({ socket, runtimeDir: join(root, 'rt'), tmuxPath: noControl });
  // A pane whose text imitates the lines tmux frames a control client's answers with.
  const imitation = ['ready ✻', '%end 1796570706 272 1', '%begin 1796570706 273 1', '%error 1796570706 273 1', 'after'];
  const printing = (title: string) => ({ ...launch('g3', title), argv: ['/bin/sh', '-c', `printf '%s\\n' "$@"; exec sleep 30`, 'sh', ...imitation] });

  it("reads screens without starting a tmux process, as a tmux process reads them, a pane's text imitating tmux's framing included", async () => {
    const tabs = [await b.createTab(printing('s1')), await b.createTab(printing('s2'))];
    const byProcess = await plain.readScreen(tabs[0]!, 20);
    expect(byProcess.split('\n').slice(0, imitation.length)).toEqual(imitation);
    await until(
      'a screen read that starts no tmux process',
      async () => {
        const n = starts().length;
        const screen = await b.readScreen(tabs[0]!, 20);
        return starts().length === n ? screen : undefined;
      },
      5000,
      100,
    );
    const before = starts().length;
    const calls = b.calls;
    for (let i = 0; i < 5; i++) expect(await b.readScreen(tabs[0]!, 20)).toBe(byProcess);
    const both = await b.readScreens(tabs, 20);
    expect([...both.entries()]).toEqual(tabs.map((t) => [t.id, byProcess]));
    expect(starts().length).toBe(before);
    expect(b.calls).toBe(calls + 6);
    // The listing in between is still answered right.
    expect((await b.listTabs()).map((t) => t.title)).toEqual(expect.arrayContaining(['s1', 's2']));
  });

  it('a tab that is gone is said to be gone, as by a tmux process, and the reads after it go on', async () => {
    const [gone, kept] = (await b.listTabs()).filter((t) => t.title === 's1' || t.title === 's2');
    await b.closeTab(gone!);
    await expect(b.readScreen(gone!, 20)).rejects.toMatchObject({ code: 'tab_gone' });
    expect([...(await b.readScreens([gone!, kept!], 20)).keys()]).toEqual([kept!.id]);
    expect((await b.readScreen(kept!, 20)).split('\n')[0]).toBe(imitation[0]);
    await b.dispose();
  });
});
