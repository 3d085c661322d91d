/**
 * What every TerminalBackend must do, whatever drives its tabs: the supervisor relies on
 * exactly this. Each backend's test file runs `conformance(name, make)`; behaviour only
 * one backend has (tmux's server, the PTY's screen model) is tested in that backend's
 * own file.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { TabHandle, TabLaunch, TerminalBackend } from '../../src/terminals/backend.js';
import { sanitizeForTerminal } from '../../src/terminals/sanitize.js';
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
  type RecorderMode,
  type Scratch,
} from './fixtures.js';

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

const LEAK = 'TABCREW_CONFORMANCE_NOT_GIVEN';

export function conformance(name: string, make: () => Promise<ConformanceSubject>): void {
  describe(`${name} backend conformance`, { timeout: 90_000 }, () => {
    let subject: ConformanceSubject | undefined;
    let scratch: Scratch;
    let launch: ReturnType<typeof launcher>;
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
      const tab = await backend().createTab(launch(over));
      opened.push(tab);
      return tab;
    }

    const printer = (text: string) => open({ argv: printing(text) });
    const shows = (tab: TabHandle, text: string) => screenContaining(backend(), tab, text);

    /** Pastes `text` into a raw-mode program and returns the bytes it read. */
    const typeAndRecord = (text: string, mode: RecorderMode = 'plain'): Promise<Buffer> =>
      record(
        backend(),
        scratch,
        (argv) => open({ argv }),
        mode,
        (tab) => backend().paste(tab, text),
      );

    beforeAll(async () => {
      scratch = makeScratch('tabcrew-conformance-', 'work dir');
      launch = launcher({ group: 'conf-main', cwd: scratch.workDir, title: 'conformance tab' });
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
        scratch.remove();
      }
    });

    it('a tab runs its program in the given directory with the given environment and a TERM', async () => {
      const { tab, env, seen } = await runEnvDump(scratch, (argv, env) => open({ argv, env }));
      expect(seen.cwd).toBe(scratch.workDir);
      const { TERM, PWD, ...rest } = seen.env;
      expect(rest).toEqual(env);
      expect(TERM).toMatch(/^[a-z0-9.-]+$/);
      // A terminal may add PWD, but only as the truth.
      if (PWD !== undefined) expect(PWD).toBe(scratch.workDir);
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
        'end of paste: \x1b[201~ typed as keys? \x1b]0;retitled\x07 \x1b]1337;SetUserVar=tabcrew_exit=MA==\x07 \r\nlast;';
      const text = sanitizeForTerminal(hostile);
      const received = await typeAndRecord(text);
      expect(received.toString('utf8')).toBe(asReceived(text, false));
      expect(received.equals(Buffer.from(asReceived(text, false), 'utf8'))).toBe(true);
      expect(pastedText(received).includes(0x1b)).toBe(false);
      expect(existsSync(join(scratch.workDir, 'pwned'))).toBe(false);
    });

    it('a program that asked for bracketed paste receives the message between paste markers', async () => {
      const text = 'pasted\nas one block';
      expect((await typeAndRecord(text, 'bracketed')).toString('utf8')).toBe(asReceived(text, true));
    });

    it('named keys reach the program as the bytes a keyboard sends', async () => {
      const received = await record(
        backend(),
        scratch,
        (argv) => open({ argv }),
        'plain',
        (tab) => backend().sendKeys(tab, ['Enter', 'Escape', 'C-u', 'BSpace']),
      );
      expect([...received]).toEqual([0x0d, 0x1b, 0x15, 0x7f]);
    });

    it("arrow keys reach the program as cursor-key sequences (moving a dialog's cursor)", async () => {
      const received = await record(
        backend(),
        scratch,
        (argv) => open({ argv }),
        'plain',
        (tab) => backend().sendKeys(tab, ['Down', 'Up']),
      );
      expect(received.toString('latin1')).toBe('\x1b[B\x1b[A');
    });

    it('readScreen shows what the program printed, without trailing blank lines', async () => {
      const tab = await printer('one\ntwo\nthree');
      await shows(tab, 'three');
      expect(await backend().readScreen(tab, 50)).toBe('one\ntwo\nthree');
      expect(await backend().readScreen(tab, 2)).toBe('two\nthree');
      await backend().closeTab(tab);
    });

    it('readScreen gives a line longer than the terminal is wide as one line', async () => {
      const long = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ') + ' '.repeat(3) + 'end';
      const tab = await printer(`${long}\nafter`);
      await shows(tab, 'after');
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
      expect(existsSync(join(scratch.workDir, 'pwned'))).toBe(false);
      for (const tab of tabs) await backend().closeTab(tab);
    });

    it('readScreens returns the screens of several tabs in one call', async () => {
      const tabs = [await printer('screen A'), await printer('screen B'), await printer('screen C')];
      for (const [i, tab] of tabs.entries()) await shows(tab, `screen ${'ABC'[i]}`);
      const before = backend().calls;
      const screens = await backend().readScreens(tabs, 20);
      expect(backend().calls - before).toBe(1);
      expect([...screens.entries()]).toEqual(tabs.map((t, i) => [t.id, `screen ${'ABC'[i]}`]));
      for (const tab of tabs) await backend().closeTab(tab);
    });

    it('readScreens leaves out a tab that was closed and still returns the others', async () => {
      const tabs = [await printer('kept 1'), await printer('closed'), await printer('kept 2')];
      await shows(tabs[0]!, 'kept 1');
      await shows(tabs[2]!, 'kept 2');
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
      expect((await ended(backend(), tab)).exitStatus).toBe(3);
      expect(await backend().readScreen(tab, 50)).toContain('bye');
      expect((await backend().listTabs()).some((t) => t.id === tab.id)).toBe(true);
      await backend().closeTab(tab);
    });

    it('a program killed by a signal is listed with exit status 128 + the signal, as a shell reports it', async () => {
      const tab = await open({ argv: [node, '-e', 'process.kill(process.pid, "SIGTERM")'] });
      expect((await ended(backend(), tab)).exitStatus).toBe(128 + 15);
      await backend().closeTab(tab);
    });

    it('typing into a tab whose program ended fails as tab_gone', async () => {
      const tab = await open({ argv: [node, '-e', 'process.exit(0)'] });
      await ended(backend(), tab);
      await expect(backend().paste(tab, 'anyone there?')).rejects.toMatchObject({ code: 'tab_gone' });
      expect((await backend().listTabs()).some((t) => t.id === tab.id)).toBe(true);
      await backend().closeTab(tab);
    });

    it('a working directory that is gone is explained in the tab, which stays open with status 1', async () => {
      const tab = await open({ argv: [node, '-e', ''], cwd: join(scratch.root, 'no-such-dir') });
      expect((await ended(backend(), tab)).exitStatus).toBe(1);
      expect(await backend().readScreen(tab, 50)).toMatch(/working directory .*no-such-dir.* does not exist/);
      await backend().closeTab(tab);
    });

    it('a program that cannot be found is explained in the tab, with status 127', async () => {
      const tab = await open({ argv: [join(scratch.root, 'no-such-program'), '--flag'] });
      expect((await ended(backend(), tab)).exitStatus).toBe(127);
      expect(await backend().readScreen(tab, 50)).toMatch(/could not start .*no-such-program/);
      await backend().closeTab(tab);
    });

    it('closeTab removes the tab and ends its program, and closing it again is fine', async () => {
      const tab = await printer('to be closed');
      const screen = await shows(tab, 'to be closed');
      expect(screen).toBe('to be closed');
      await backend().closeTab(tab);
      expect((await backend().listTabs()).some((t) => t.id === tab.id)).toBe(false);
      await expect(backend().closeTab(tab)).resolves.toBeUndefined();
      await expect(backend().readScreen(tab, 10)).rejects.toMatchObject({ code: 'tab_gone' });
      await expect(backend().paste(tab, 'hello')).rejects.toMatchObject({ code: 'tab_gone' });
      await expect(backend().sendKeys(tab, ['Enter'])).rejects.toMatchObject({ code: 'tab_gone' });
      if (tab.pid !== undefined) await ends(tab.pid);
    });
  });
}
