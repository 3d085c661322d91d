import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { TerminalError, type TabHandle, type TabLaunch } from '../../src/terminals/backend.js';
import { sanitizeForTerminal } from '../../src/terminals/sanitize.js';
import { TmuxBackend } from '../../src/terminals/tmux.js';

// A tmux server of this file's own; the user's default server is never touched.
const socket = `tabcrew-test-${process.pid}-${randomBytes(4).toString('hex')}`;
const root = realpathSync(mkdtempSync(join(tmpdir(), 'tabcrew-tmux-test-')));
const runtimeDir = join(root, 'runtime');
const workDir = join(root, 'work');
const backend = new TmuxBackend({ socket, runtimeDir });
const node = process.execPath;
const LEAK = 'TABCREW_TEST_NOT_GIVEN';

// Raw mode, so the tty neither echoes nor cuts a line near 4096 bytes as canonical mode
// does; records every byte until Ctrl-C (which sanitised text can never contain).
const RECORDER = `
const fs = require('fs');
const [out, mode] = process.argv.slice(2);
process.stdin.setRawMode(true);
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

const ENV_DUMP = `
require('fs').writeFileSync(process.argv[2], JSON.stringify({ env: process.env, cwd: process.cwd(), pid: process.pid }));
`;

function launch(over: Partial<TabLaunch> & Pick<TabLaunch, 'argv'>): TabLaunch {
  return {
    group: 's-test01',
    cwd: workDir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    title: 'test tab',
    tag: `tag-${randomBytes(4).toString('hex')}`,
    ...over,
  };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (let i = 0; i < 400 && Date.now() < deadline; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function screenContaining(tab: TabHandle, text: string): Promise<string> {
  return waitFor(`"${text}" on screen`, async () => {
    const screen = await backend.readScreen(tab, 50);
    return screen.includes(text) ? screen : undefined;
  });
}

/** Starts a recorder tab, types `text` into it, and returns the bytes the program read. */
async function typeAndRecord(text: string, mode = 'plain'): Promise<Buffer> {
  const out = join(root, `received-${randomBytes(4).toString('hex')}`);
  const tab = await backend.createTab(launch({ argv: [node, join(root, 'recorder.cjs'), out, mode] }));
  await screenContaining(tab, 'READY');
  await backend.paste(tab, text);
  await backend.sendKeys(tab, ['C-c']);
  const received = await waitFor('the recording', () => (existsSync(out) ? readFileSync(out) : undefined));
  await backend.closeTab(tab);
  return received;
}

async function printer(text: string): Promise<TabHandle> {
  return backend.createTab(
    launch({ argv: [node, '-e', `console.log(${JSON.stringify(text)}); setInterval(() => {}, 60_000)`] }),
  );
}

beforeAll(() => {
  execFileSync('mkdir', ['-p', workDir]);
  writeFileSync(join(root, 'recorder.cjs'), RECORDER);
  writeFileSync(join(root, 'envdump.cjs'), ENV_DUMP);
  // The tmux server inherits the environment of the test process that starts it.
  process.env[LEAK] = 'must not reach the program';
});

afterAll(() => {
  delete process.env[LEAK];
  try {
    execFileSync('tmux', ['-L', socket, 'kill-server'], { stdio: 'ignore' });
  } catch {
    // no server left to kill
  }
  // tmux leaves its socket file behind when the server exits.
  const socketDir = join(process.env.TMUX_TMPDIR ?? '/tmp', `tmux-${process.getuid?.() ?? 0}`);
  rmSync(join(socketDir, socket), { force: true });
  rmSync(root, { recursive: true, force: true });
});

describe('TmuxBackend', { timeout: 30_000 }, () => {
  it('a tab runs its program in the given directory with exactly the given environment, TERM naming tmux', async () => {
    const out = join(root, 'env.json');
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: workDir,
      SHLVL: '4',
      TABCREW_GIVEN: 'a value with spaces,\nnewlines, "quotes" and $(no expansion);',
    };
    const tab = await backend.createTab(launch({ argv: [node, join(root, 'envdump.cjs'), out], env }));
    const seen = await waitFor('the environment dump', () =>
      existsSync(out) ? (JSON.parse(readFileSync(out, 'utf8')) as { env: object; cwd: string; pid: number }) : undefined,
    );
    expect(seen.cwd).toBe(workDir);
    expect(seen.env).toEqual({ ...env, TERM: 'screen-256color' });
    expect(seen.env).not.toHaveProperty(LEAK);
    expect(seen.env).not.toHaveProperty('TMUX');
    expect(tab).toMatchObject({ backend: 'tmux', id: expect.stringMatching(/^@\d+$/), pane: expect.stringMatching(/^%\d+$/) });
    // The launcher execs, so the tab's pid is the program's own.
    expect(tab.pid).toBe(seen.pid);
  });

  it('the launcher leaves no launch spec, and so no environment file, behind', async () => {
    const before = readdirSync(join(runtimeDir, 'launch'));
    const tab = await printer('spec check');
    await screenContaining(tab, 'spec check');
    expect(readdirSync(join(runtimeDir, 'launch'))).toEqual(before);
    await backend.closeTab(tab);
  });

  it('a new tab is listed alive, in its group, with its tag and title, however odd they are', async () => {
    const tag = 'agent;\n\x1f\x1e#{pane_id} "x" \\;';
    const title = 'Agent_1 #{window_id} #(touch pwned) \\ tab\there;';
    const tab = await backend.createTab(
      launch({ argv: [node, '-e', 'setInterval(() => {}, 60_000)'], group: 's-listed', tag, title }),
    );
    const listed = (await backend.listTabs()).find((t) => t.id === tab.id);
    expect(listed).toEqual({ ...tab, tag, group: 's-listed', title, alive: true });
    expect(existsSync(join(workDir, 'pwned'))).toBe(false);
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
    const tabs = await Promise.all(
      [1, 2, 3].map((i) =>
        backend.createTab(launch({ argv: [node, '-e', 'setInterval(() => {}, 60_000)'], group: 's-race', tag: `race-${i}` })),
      ),
    );
    const listed = (await backend.listTabs()).filter((t) => t.group === 's-race');
    expect(listed.map((t) => t.tag).sort()).toEqual(['race-1', 'race-2', 'race-3']);
    for (const tab of tabs) await backend.closeTab(tab);
  });

  it('a pasted multi-line message reaches the program byte for byte, newlines as LF', async () => {
    const text = 'first line\nsecond line\n\n\tindented fourth line\nlast line without newline';
    expect((await typeAndRecord(text)).toString('utf8')).toBe(text);
  });

  it('a pasted 5 KB message reaches the program byte for byte', async () => {
    const oneLine = 'x'.repeat(4500); // longer than a canonical-mode tty line
    const text = `${oneLine}\n${'0123456789abcdef\n'.repeat(40)}end`;
    expect(Buffer.byteLength(text)).toBeGreaterThan(5000);
    expect((await typeAndRecord(text)).toString('utf8')).toBe(text);
  });

  it('a hostile message reaches the program byte for byte once sanitised, with no escape code left', async () => {
    const hostile =
      `He said "hi" & 'bye' \\ \\\\ $(rm -rf ~) \`whoami\` \${HOME} a;b ;\n` +
      'emoji 😀👩‍💻, right-to-left: שלום עולם مرحبا\n' +
      'end of paste: \x1b[201~ typed as keys? \x1b]0;retitled\x07 \r\nlast;';
    const text = sanitizeForTerminal(hostile);
    const received = await typeAndRecord(text);
    expect(received.equals(Buffer.from(text, 'utf8'))).toBe(true);
    expect(received.includes(0x1b)).toBe(false);
  });

  it('a program that asked for bracketed paste receives the message between paste markers', async () => {
    const text = 'pasted\nas one block';
    expect((await typeAndRecord(text, 'bracketed')).toString('utf8')).toBe(`\x1b[200~${text}\x1b[201~`);
  });

  it('readScreen shows what the program printed, without trailing blank lines', async () => {
    const tab = await backend.createTab(
      launch({ argv: [node, '-e', 'console.log("one\\ntwo\\nthree"); setInterval(() => {}, 60_000)'] }),
    );
    await screenContaining(tab, 'three');
    expect(await backend.readScreen(tab, 50)).toBe('one\ntwo\nthree');
    expect(await backend.readScreen(tab, 2)).toBe('two\nthree');
    await backend.closeTab(tab);
  });

  it('readScreens returns the screens of several tabs in one tmux call', async () => {
    const tabs = [await printer('screen A'), await printer('screen B'), await printer('screen C')];
    for (const [i, tab] of tabs.entries()) await screenContaining(tab, `screen ${'ABC'[i]}`);
    const before = backend.calls;
    const screens = await backend.readScreens(tabs, 20);
    expect(backend.calls - before).toBe(1);
    expect([...screens.entries()]).toEqual(tabs.map((t, i) => [t.id, `screen ${'ABC'[i]}`]));
    for (const tab of tabs) await backend.closeTab(tab);
  });

  it('readScreens leaves out a tab that was closed and still returns the others', async () => {
    const tabs = [await printer('kept 1'), await printer('closed'), await printer('kept 2')];
    await screenContaining(tabs[0]!, 'kept 1');
    await screenContaining(tabs[2]!, 'kept 2');
    await backend.closeTab(tabs[1]!);
    const screens = await backend.readScreens(tabs, 20);
    expect([...screens.entries()]).toEqual([
      [tabs[0]!.id, 'kept 1'],
      [tabs[2]!.id, 'kept 2'],
    ]);
    await backend.closeTab(tabs[0]!);
    await backend.closeTab(tabs[2]!);
  });

  it('a program that ended is listed as not alive, with its exit status, and its screen stays readable', async () => {
    const tab = await backend.createTab(launch({ argv: [node, '-e', 'console.log("bye"); process.exit(3)'] }));
    const listed = await waitFor('the program to end', async () =>
      (await backend.listTabs()).find((t) => t.id === tab.id && !t.alive && t.exitStatus !== undefined),
    );
    expect(listed.exitStatus).toBe(3);
    expect(await backend.readScreen(tab, 50)).toContain('bye');
    await backend.closeTab(tab);
  });

  it('a program killed by a signal is listed with exit status 128 + the signal, as a shell reports it', async () => {
    const tab = await backend.createTab(launch({ argv: [node, '-e', 'process.kill(process.pid, "SIGTERM")'] }));
    const listed = await waitFor('the program to end', async () =>
      (await backend.listTabs()).find((t) => t.id === tab.id && !t.alive && t.exitStatus !== undefined),
    );
    expect(listed.exitStatus).toBe(128 + 15);
    await backend.closeTab(tab);
  });

  it('typing into a tab whose program ended fails as tab_gone and leaves tmux running', async () => {
    const tab = await backend.createTab(launch({ argv: [node, '-e', 'process.exit(0)'] }));
    await waitFor('the program to end', async () => (await backend.listTabs()).find((t) => t.id === tab.id && !t.alive));
    await expect(backend.paste(tab, 'anyone there?')).rejects.toMatchObject({ code: 'tab_gone' });
    expect((await backend.listTabs()).some((t) => t.id === tab.id)).toBe(true);
    await backend.closeTab(tab);
  });

  it('a working directory that is gone is explained in the tab, which stays open', async () => {
    const tab = await backend.createTab(launch({ argv: [node, '-e', ''], cwd: join(root, 'no-such-dir') }));
    const listed = await waitFor('the launcher to give up', async () =>
      (await backend.listTabs()).find((t) => t.id === tab.id && !t.alive && t.exitStatus !== undefined),
    );
    expect(listed.exitStatus).toBe(1);
    expect(await backend.readScreen(tab, 50)).toMatch(/working directory .*no-such-dir.* does not exist/);
    await backend.closeTab(tab);
  });

  it('a program that cannot be found is explained in the tab', async () => {
    const tab = await backend.createTab(launch({ argv: [join(root, 'no-such-program'), '--flag'] }));
    const listed = await waitFor('the launcher to give up', async () =>
      (await backend.listTabs()).find((t) => t.id === tab.id && !t.alive && t.exitStatus !== undefined),
    );
    expect(listed.exitStatus).toBe(127);
    expect(await backend.readScreen(tab, 50)).toMatch(/could not start .*no-such-program/);
    await backend.closeTab(tab);
  });

  it('closeTab removes the tab, and closing it again is fine', async () => {
    const tab = await printer('to be closed');
    await screenContaining(tab, 'to be closed');
    await backend.closeTab(tab);
    expect((await backend.listTabs()).some((t) => t.id === tab.id)).toBe(false);
    await expect(backend.closeTab(tab)).resolves.toBeUndefined();
    await expect(backend.readScreen(tab, 10)).rejects.toMatchObject({ code: 'tab_gone' });
    await expect(backend.paste(tab, 'hello')).rejects.toMatchObject({ code: 'tab_gone' });
    await expect(backend.sendKeys(tab, ['Enter'])).rejects.toMatchObject({ code: 'tab_gone' });
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
