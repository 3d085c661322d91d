/**
 * What every TerminalBackend must do, whatever drives its tabs: the supervisor relies on
 * exactly this. Each backend's test file runs `conformance(name, make)`; behaviour only
 * one backend has (tmux's server, the PTY's screen model) is tested in that backend's
 * own file.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { TabHandle, TabLaunch, TerminalBackend } from '../../src/terminals/backend.js';
import { sanitizeForTerminal } from '../../src/terminals/sanitize.js';

export interface ConformanceSubject {
  backend: TerminalBackend;
  /** Stops everything the backend started (servers, processes) and removes its files. */
  cleanup(): Promise<void>;
  /**
   * The backend cannot see whether the program asked for bracketed paste (iTerm2's
   * scripting), so it brackets every paste. The text between the markers must still
   * arrive byte for byte.
   */
  pasteAlwaysBracketed?: boolean;
}

const PASTE_START = '\x1b[200~';
const PASTE_END = '\x1b[201~';

const node = process.execPath;
const LEAK = 'TABCREW_CONFORMANCE_NOT_GIVEN';
// Generous: two cores shared with other test runs, and tmux/node start-up each take time.
const WAIT_MS = 20_000;

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

// Written whole, then renamed: the test polls for the file and must not read it half-written.
const ENV_DUMP = `
const fs = require('fs');
fs.writeFileSync(process.argv[2] + '.part', JSON.stringify({ env: process.env, cwd: process.cwd(), pid: process.pid }));
fs.renameSync(process.argv[2] + '.part', process.argv[2]);
setInterval(() => {}, 60_000);
`;

const FOREVER = 'setInterval(() => {}, 60_000)';

export function conformance(name: string, make: () => Promise<ConformanceSubject>): void {
  describe(`${name} backend conformance`, { timeout: 90_000 }, () => {
    let subject: ConformanceSubject | undefined;
    let root = '';
    let workDir = '';
    const opened: TabHandle[] = [];

    const backend = (): TerminalBackend => {
      if (!subject) throw new Error('the backend was not made');
      return subject.backend;
    };

    /** What a program receives for a paste of `text`, given whether it asked for brackets. */
    const asReceived = (text: string, askedForBrackets: boolean): string =>
      askedForBrackets || subject?.pasteAlwaysBracketed ? `${PASTE_START}${text}${PASTE_END}` : text;

    /** The pasted text itself, without the markers a bracketed paste wraps it in. */
    const pastedText = (received: Buffer): Buffer => {
      const start = Buffer.from(PASTE_START);
      const end = Buffer.from(PASTE_END);
      if (!subject?.pasteAlwaysBracketed || !received.subarray(0, start.length).equals(start)) return received;
      if (!received.subarray(received.length - end.length).equals(end)) return received;
      return received.subarray(start.length, received.length - end.length);
    };

    /** Every tab goes through here, so afterAll can close what a failed test left open. */
    async function open(over: Partial<TabLaunch> & Pick<TabLaunch, 'argv'>): Promise<TabHandle> {
      const tab = await backend().createTab({
        group: 'conf-main',
        cwd: workDir,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
        title: 'conformance tab',
        tag: `tag-${randomBytes(4).toString('hex')}`,
        ...over,
      });
      opened.push(tab);
      return tab;
    }

    const printer = (text: string, over: Partial<TabLaunch> = {}) =>
      open({ argv: [node, '-e', `console.log(${JSON.stringify(text)}); ${FOREVER}`], ...over });

    async function screenContaining(tab: TabHandle, text: string): Promise<string> {
      return waitFor(`"${text}" on the screen of ${tab.id}`, async () => {
        const screen = await backend().readScreen(tab, 50);
        return screen.includes(text) ? screen : undefined;
      });
    }

    async function ended(tab: TabHandle) {
      return waitFor(`the program in ${tab.id} to end`, async () =>
        (await backend().listTabs()).find((t) => t.id === tab.id && !t.alive && t.exitStatus !== undefined),
      );
    }

    /** Types `text` into a raw-mode program and returns the bytes it read. */
    async function typeAndRecord(text: string, mode = 'plain'): Promise<Buffer> {
      const out = join(root, `received-${randomBytes(4).toString('hex')}`);
      const tab = await open({ argv: [node, join(root, 'recorder.cjs'), out, mode] });
      await screenContaining(tab, 'READY');
      await backend().paste(tab, text);
      await backend().sendKeys(tab, ['C-c']);
      const received = await waitFor('the recording', () => (existsSync(out) ? readFileSync(out) : undefined));
      await backend().closeTab(tab);
      return received;
    }

    beforeAll(async () => {
      root = realpathSync(mkdtempSync(join(tmpdir(), 'tabcrew-conformance-')));
      workDir = join(root, 'work dir');
      mkdirSync(workDir);
      writeFileSync(join(root, 'recorder.cjs'), RECORDER);
      writeFileSync(join(root, 'envdump.cjs'), ENV_DUMP);
      // A backend whose server inherits the test's environment would pass this on.
      process.env[LEAK] = 'must not reach the program';
      subject = await make();
    });

    afterAll(async () => {
      delete process.env[LEAK];
      try {
        if (subject) {
          for (const tab of opened) await subject.backend.closeTab(tab).catch(() => {});
          await subject.cleanup();
        }
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    });

    it('a tab runs its program in the given directory with the given environment and a TERM', async () => {
      const out = join(root, 'env.json');
      const env = {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: workDir,
        // The tmux launcher's bash would otherwise set one of its own.
        SHLVL: '4',
        TABCREW_GIVEN: 'a value with spaces,\nnewlines, "quotes" and $(no expansion);',
      };
      const tab = await open({ argv: [node, join(root, 'envdump.cjs'), out], env });
      const seen = await waitFor('the environment dump', () =>
        existsSync(out)
          ? (JSON.parse(readFileSync(out, 'utf8')) as { env: Record<string, string>; cwd: string; pid: number })
          : undefined,
      );
      expect(seen.cwd).toBe(workDir);
      const { TERM, PWD, ...rest } = seen.env;
      expect(rest).toEqual(env);
      expect(TERM).toMatch(/^[a-z0-9.-]+$/);
      // A terminal may add PWD, but only as the truth.
      if (PWD !== undefined) expect(PWD).toBe(workDir);
      expect(seen.env).not.toHaveProperty(LEAK);
      expect(tab.id).not.toBe('');
      if (tab.pid !== undefined) expect(tab.pid).toBe(seen.pid);
      await backend().closeTab(tab);
    });

    it('a pasted multi-line message reaches the program byte for byte, newlines as LF', async () => {
      const text = 'first line\nsecond line\n\n\tindented fourth line\nlast line without newline';
      expect((await typeAndRecord(text)).toString('utf8')).toBe(asReceived(text, false));
    });

    it('a pasted 5 KB message reaches the program byte for byte', async () => {
      const oneLine = 'x'.repeat(4500); // longer than a canonical-mode tty line
      const text = `${oneLine}\n${'0123456789abcdef\n'.repeat(40)}end`;
      expect(Buffer.byteLength(text)).toBeGreaterThan(5000);
      expect((await typeAndRecord(text)).toString('utf8')).toBe(asReceived(text, false));
    });

    it('a hostile message reaches the program byte for byte once sanitised, with no escape code left', async () => {
      const hostile =
        `He said "hi" & 'bye' \\ \\\\ $(rm -rf ~) \`whoami\` \${HOME} a;b ;\n` +
        'emoji 😀👩‍💻, right-to-left: שלום עולם مرحبا\n' +
        'end of paste: \x1b[201~ typed as keys? \x1b]0;retitled\x07 \r\nlast;';
      const text = sanitizeForTerminal(hostile);
      const received = await typeAndRecord(text);
      expect(received.toString('utf8')).toBe(asReceived(text, false));
      expect(received.equals(Buffer.from(asReceived(text, false), 'utf8'))).toBe(true);
      expect(pastedText(received).includes(0x1b)).toBe(false);
      expect(existsSync(join(workDir, 'pwned'))).toBe(false);
    });

    it('a program that asked for bracketed paste receives the message between paste markers', async () => {
      const text = 'pasted\nas one block';
      expect((await typeAndRecord(text, 'bracketed')).toString('utf8')).toBe(asReceived(text, true));
    });

    it('named keys reach the program as the bytes a keyboard sends', async () => {
      const out = join(root, `keys-${randomBytes(4).toString('hex')}`);
      const tab = await open({ argv: [node, join(root, 'recorder.cjs'), out, 'plain'] });
      await screenContaining(tab, 'READY');
      await backend().sendKeys(tab, ['Enter', 'Escape', 'C-u', 'BSpace']);
      await backend().sendKeys(tab, ['C-c']);
      const received = await waitFor('the recording', () => (existsSync(out) ? readFileSync(out) : undefined));
      expect([...received]).toEqual([0x0d, 0x1b, 0x15, 0x7f]);
      await backend().closeTab(tab);
    });

    it('readScreen shows what the program printed, without trailing blank lines', async () => {
      const tab = await printer('one\ntwo\nthree');
      await screenContaining(tab, 'three');
      expect(await backend().readScreen(tab, 50)).toBe('one\ntwo\nthree');
      expect(await backend().readScreen(tab, 2)).toBe('two\nthree');
      await backend().closeTab(tab);
    });

    it('readScreen gives a line longer than the terminal is wide as one line', async () => {
      const long = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ') + ' '.repeat(3) + 'end';
      const tab = await printer(`${long}\nafter`);
      await screenContaining(tab, 'after');
      expect(await backend().readScreen(tab, 50)).toBe(`${long}\nafter`);
      await backend().closeTab(tab);
    });

    it('listTabs returns the tag, group and title of every tab in one call', async () => {
      const specs = [
        { group: 'conf-list-a', tag: 'agent;\n"x" \\; $(id)', title: 'Agent_1 #{window_id} $(touch pwned) \\ tab;' },
        { group: 'conf-list-a', tag: 'tabcrew:Agent_2:0b3c', title: 'Agent_2' },
        { group: 'conf-list-b', tag: 'emoji 😀 tag', title: 'שלום title' },
      ];
      const tabs = [];
      for (const spec of specs) tabs.push(await open({ argv: [node, '-e', FOREVER], ...spec }));
      const before = backend().calls;
      const listed = await backend().listTabs();
      expect(backend().calls - before).toBe(1);
      for (const [i, tab] of tabs.entries()) {
        expect(listed.find((t) => t.id === tab.id)).toEqual({ ...tab, ...specs[i], alive: true });
      }
      expect(existsSync(join(workDir, 'pwned'))).toBe(false);
      for (const tab of tabs) await backend().closeTab(tab);
    });

    it('readScreens returns the screens of several tabs in one call', async () => {
      const tabs = [await printer('screen A'), await printer('screen B'), await printer('screen C')];
      for (const [i, tab] of tabs.entries()) await screenContaining(tab, `screen ${'ABC'[i]}`);
      const before = backend().calls;
      const screens = await backend().readScreens(tabs, 20);
      expect(backend().calls - before).toBe(1);
      expect([...screens.entries()]).toEqual(tabs.map((t, i) => [t.id, `screen ${'ABC'[i]}`]));
      for (const tab of tabs) await backend().closeTab(tab);
    });

    it('readScreens leaves out a tab that was closed and still returns the others', async () => {
      const tabs = [await printer('kept 1'), await printer('closed'), await printer('kept 2')];
      await screenContaining(tabs[0]!, 'kept 1');
      await screenContaining(tabs[2]!, 'kept 2');
      await backend().closeTab(tabs[1]!);
      const screens = await backend().readScreens(tabs, 20);
      expect([...screens.entries()]).toEqual([
        [tabs[0]!.id, 'kept 1'],
        [tabs[2]!.id, 'kept 2'],
      ]);
      await backend().closeTab(tabs[0]!);
      await backend().closeTab(tabs[2]!);
    });

    it('a program that ended is listed as not alive, with its exit status, and its screen stays readable', async () => {
      const tab = await open({ argv: [node, '-e', 'console.log("bye"); process.exit(3)'] });
      expect((await ended(tab)).exitStatus).toBe(3);
      expect(await backend().readScreen(tab, 50)).toContain('bye');
      expect((await backend().listTabs()).some((t) => t.id === tab.id)).toBe(true);
      await backend().closeTab(tab);
    });

    it('a program killed by a signal is listed with exit status 128 + the signal, as a shell reports it', async () => {
      const tab = await open({ argv: [node, '-e', 'process.kill(process.pid, "SIGTERM")'] });
      expect((await ended(tab)).exitStatus).toBe(128 + 15);
      await backend().closeTab(tab);
    });

    it('typing into a tab whose program ended fails as tab_gone', async () => {
      const tab = await open({ argv: [node, '-e', 'process.exit(0)'] });
      await ended(tab);
      await expect(backend().paste(tab, 'anyone there?')).rejects.toMatchObject({ code: 'tab_gone' });
      expect((await backend().listTabs()).some((t) => t.id === tab.id)).toBe(true);
      await backend().closeTab(tab);
    });

    it('a working directory that is gone is explained in the tab, which stays open with status 1', async () => {
      const tab = await open({ argv: [node, '-e', ''], cwd: join(root, 'no-such-dir') });
      expect((await ended(tab)).exitStatus).toBe(1);
      expect(await backend().readScreen(tab, 50)).toMatch(/working directory .*no-such-dir.* does not exist/);
      await backend().closeTab(tab);
    });

    it('a program that cannot be found is explained in the tab, with status 127', async () => {
      const tab = await open({ argv: [join(root, 'no-such-program'), '--flag'] });
      expect((await ended(tab)).exitStatus).toBe(127);
      expect(await backend().readScreen(tab, 50)).toMatch(/could not start .*no-such-program/);
      await backend().closeTab(tab);
    });

    it('closeTab removes the tab and ends its program, and closing it again is fine', async () => {
      const tab = await printer('to be closed');
      const screen = await screenContaining(tab, 'to be closed');
      expect(screen).toBe('to be closed');
      await backend().closeTab(tab);
      expect((await backend().listTabs()).some((t) => t.id === tab.id)).toBe(false);
      await expect(backend().closeTab(tab)).resolves.toBeUndefined();
      await expect(backend().readScreen(tab, 10)).rejects.toMatchObject({ code: 'tab_gone' });
      await expect(backend().paste(tab, 'hello')).rejects.toMatchObject({ code: 'tab_gone' });
      await expect(backend().sendKeys(tab, ['Enter'])).rejects.toMatchObject({ code: 'tab_gone' });
      if (tab.pid !== undefined) await waitFor(`pid ${tab.pid} to end`, () => (isRunning(tab.pid!) ? undefined : true));
    });
  });
}

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
