/**
 * What only the PTY backend does: it owns its programs and renders their screens itself.
 * The behaviour every backend shares is in conformance.ts.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { classifyScreen } from '../../src/claude/screen.js';
import type { TabHandle, TabLaunch } from '../../src/terminals/backend.js';
import { PtyBackend } from '../../src/terminals/pty.js';
import { claudeBin, makeClaudeHome } from '../support/claude-home.js';
import { isConversationRequest, startMockAnthropic } from '../support/mock-anthropic.js';
import { ended, FOREVER, isRunning, launcher, makeScratch, node, record, screenContaining, waitFor, writtenJson, type RecorderMode } from './fixtures.js';

const scratch = makeScratch('tabcrew-pty-test-');
const { root, workDir } = scratch;
const launch = launcher({ group: 'pty-test', cwd: workDir, title: 'pty test tab' });
// Every backend a test makes is disposed after it, so no program outlives the file.
const backends: PtyBackend[] = [];

function makeBackend(options?: ConstructorParameters<typeof PtyBackend>[0]): PtyBackend {
  const backend = new PtyBackend(options);
  backends.push(backend);
  return backend;
}

/** A tab running `node -e script`. */
function run(backend: PtyBackend, script: string, over: Partial<TabLaunch> = {}): Promise<TabHandle> {
  return backend.createTab(launch({ argv: [node, '-e', script], ...over }));
}

/** Pastes `text` into the recorder, started in `mode`, and returns what it read. */
async function typeAndRecord(backend: PtyBackend, text: string, mode: RecorderMode): Promise<string> {
  const open = (argv: string[]) => backend.createTab(launch({ argv }));
  return (await record(backend, scratch, open, mode, (tab) => backend.paste(tab, text))).toString('utf8');
}

afterEach(async () => {
  for (const backend of backends.splice(0)) await backend.dispose();
});

afterAll(() => {
  scratch.remove();
});

function readProcStat(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').trim();
  } catch {
    return 'no /proc entry';
  }
}

describe('PtyBackend', { timeout: 60_000 }, () => {
  it('pastes between markers only while the program keeps bracketed paste on', async () => {
    const backend = makeBackend();
    expect(await typeAndRecord(backend, 'two\nlines', 'bracketed')).toBe('\x1b[200~two\nlines\x1b[201~');
    expect(await typeAndRecord(backend, 'two\nlines', 'on-then-off')).toBe('two\nlines');
  });

  it('renders carriage returns and cursor movement as a terminal shows them', async () => {
    const backend = makeBackend();
    const tab = await run(
      backend,
      `process.stdout.write('abc\\rX\\r\\n' + 'line to clear\\x1b[5Dkeep\\x1b[K\\r\\n' + '\\x1b[10;20Hplaced\\x1b[9;1Habove\\r\\n'); ${FOREVER}`,
    );
    const screen = await screenContaining(backend, tab, 'placed');
    expect(screen.split('\n')).toEqual(['Xbc', 'line to keep', '', '', '', '', '', '', 'above', `${' '.repeat(19)}placed`]);
  });

  it('shows the alternate screen while a program uses it, and the main screen after', async () => {
    const backend = makeBackend();
    const tab = await run(
      backend,
      `process.stdout.write('main text\\r\\n\\x1b[?1049h\\x1b[Hfull-screen app');
       process.stdin.once('data', () => process.stdout.write('\\x1b[?1049lback\\r\\n'));
       process.stdin.setRawMode(true); ${FOREVER}`,
    );
    expect(await screenContaining(backend, tab, 'full-screen app')).toBe('full-screen app');
    await backend.sendKeys(tab, ['Enter']);
    expect(await screenContaining(backend, tab, 'back')).toBe('main text\nback');
  });

  it('answers the terminal queries a TUI waits on (cursor position, device attributes)', async () => {
    const backend = makeBackend();
    const tab = await run(
      backend,
      `process.stdin.setRawMode(true);
       let got = '';
       process.stdin.on('data', (d) => {
         got += d.toString('latin1');
         if (/\\[\\?[0-9;]*c/.test(got)) process.stdout.write('\\r\\nreplies: ' + JSON.stringify(got) + '\\r\\n');
       });
       process.stdout.write('\\x1b[3;7Hq\\x1b[6n\\x1b[c'); ${FOREVER}`,
    );
    const screen = await screenContaining(backend, tab, 'replies:');
    // The cursor sat after the 'q' printed at row 3, column 7.
    expect(screen).toContain(JSON.stringify('\x1b[3;8R\x1b[?1;2c'));
  });

  it('readScreen shows all output received, even right after a flood of it, with the scrollback kept', async () => {
    const backend = makeBackend({ scrollback: 5000 });
    const tab = await run(
      backend,
      `let s = ''; for (let i = 1; i <= 100000; i++) s += 'line ' + i + ' ' + 'x'.repeat(20) + '\\n';
       // The pause lets the reader take the last bytes: a pty master read right as its program
       // exits can lose what the kernel still buffers (Linux, on a loaded machine).
       process.stdout.write(s + 'DONE\\n', () => setTimeout(() => process.exit(0), 300));`,
    );
    await ended(backend, tab);
    // No waiting from here on: what the pty delivered must be on the screen.
    const screen = await backend.readScreen(tab, 3);
    expect(screen).toBe(`line 99999 ${'x'.repeat(20)}\nline 100000 ${'x'.repeat(20)}\nDONE`);
    const kept = (await backend.readScreen(tab, 100_000)).split('\n');
    // Scrollback plus a screen of 50 rows, less the blank row the cursor ended on.
    expect(kept).toHaveLength(5000 + 49);
    expect(kept.at(-1)).toBe('DONE');
  });

  it('gives the program a terminal of the configured size named xterm-256color, with PWD as its cwd', async () => {
    const backend = makeBackend({ cols: 120, rows: 40 });
    const out = scratch.file('size.json');
    await run(
      backend,
      `const fs = require('fs');
       fs.writeFileSync(${JSON.stringify(out + '.part')}, JSON.stringify({ cols: process.stdout.columns, rows: process.stdout.rows, term: process.env.TERM, pwd: process.env.PWD }));
       fs.renameSync(${JSON.stringify(out + '.part')}, ${JSON.stringify(out)}); ${FOREVER}`,
    );
    const seen = await writtenJson(out, 'the size report');
    expect(seen).toEqual({ cols: 120, rows: 40, term: 'xterm-256color', pwd: workDir });
  });

  it("refuses handles it did not make: another backend's tabs, or tabs of an earlier run", async () => {
    const first = makeBackend();
    const second = makeBackend();
    const tab = await run(first, FOREVER);
    expect(tab.id).toMatch(/^pty-/);
    await expect(second.readScreen(tab, 10)).rejects.toMatchObject({ code: 'tab_gone' });
    await expect(second.paste(tab, 'hi')).rejects.toMatchObject({ code: 'tab_gone' });
    await expect(first.readScreen({ ...tab, backend: 'tmux' }, 10)).rejects.toMatchObject({ code: 'tab_gone' });
    expect(await second.readScreens([tab], 10)).toEqual(new Map());
    await expect(second.closeTab(tab)).resolves.toBeUndefined();
    expect((await first.listTabs()).map((t) => t.id)).toEqual([tab.id]);
  });

  it('a launch the program could not receive is refused before anything starts', async () => {
    const backend = makeBackend();
    await expect(backend.createTab(launch({ argv: [node, 'a\0b'] }))).rejects.toMatchObject({ code: 'failed' });
    await expect(backend.createTab(launch({ argv: [node], env: { 'BAD NAME': 'x' } }))).rejects.toMatchObject({ code: 'failed' });
    await expect(backend.createTab(launch({ argv: [node], cwd: 'relative/dir' }))).rejects.toMatchObject({ code: 'failed' });
    await expect(backend.createTab(launch({ argv: [] }))).rejects.toMatchObject({ code: 'failed' });
    expect(await backend.listTabs()).toEqual([]);
  });

  it('dispose ends every program, its children and one that ignores SIGHUP included', async () => {
    const backend = makeBackend();
    const pidFile = scratch.file('child');
    const tabs = [
      await run(backend, FOREVER),
      await run(backend, `process.on('SIGHUP', () => {}); console.log('deaf'); ${FOREVER}`),
      await run(
        backend,
        `const c = require('child_process').spawn(process.execPath, ['-e', '${FOREVER}'], { stdio: 'ignore' });
         require('fs').writeFileSync(${JSON.stringify(pidFile + '.part')}, String(c.pid));
         require('fs').renameSync(${JSON.stringify(pidFile + '.part')}, ${JSON.stringify(pidFile)}); ${FOREVER}`,
      ),
    ];
    await screenContaining(backend, tabs[1]!, 'deaf');
    const child = Number(await waitFor('the child pid', () => (existsSync(pidFile) ? readFileSync(pidFile, 'utf8') : undefined)));
    const pids = [...tabs.map((t) => t.pid!), child];
    expect(pids.every(isRunning)).toBe(true);
    await backend.dispose();
    await waitFor('every process to end', () => (pids.some(isRunning) ? undefined : true), 5_000).catch((err: Error) => {
      const left = pids.filter(isRunning).map((pid) => `${pid}: ${readProcStat(pid)}`);
      throw new Error(`${err.message}; still running: ${left.join(', ')}`);
    });
    expect(await backend.listTabs()).toEqual([]);
  });
});

describe('PtyBackend with the real Claude Code', { timeout: 120_000 }, () => {
  it('Claude Code starts in a PTY tab, reaches its idle prompt and receives a pasted message', async () => {
    const mock = await startMockAnthropic();
    const project = join(root, 'project');
    mkdirSync(project);
    const home = makeClaudeHome({ apiKey: 'sk-ant-test-pty-0123456789abcdefghij', baseUrl: mock.url, trustedDirs: [project] });
    const backend = makeBackend();
    let pid: number | undefined;
    try {
      const tab = await backend.createTab(launch({ argv: [claudeBin], env: home.env, cwd: project, title: 'Agent_1' }));
      pid = tab.pid;
      let screen = '';
      await waitFor(
        'the idle prompt',
        async () => {
          screen = await backend.readScreen(tab, 60);
          return classifyScreen(screen) === 'idle' ? true : undefined;
        },
        60_000,
      ).catch((err: Error) => {
        throw new Error(`${err.message}; last screen:\n${screen}`);
      });
      const message = 'Hello from a PTY tab.\nSecond line, "quoted" $(not run);';
      const arrived = (ms: number) => mock.waitFor((r) => isConversationRequest(r) && mock.lastUserText(r) === message, ms).catch(() => undefined);
      // The supervisor's delivery, step by step: paste, pause, Enter, and a second Enter
      // when the first was absorbed. Claude Code absorbs it about one time in four when the
      // message comes right after its prompt first appears, in tmux tabs just as in these.
      await backend.paste(tab, message);
      await new Promise((r) => setTimeout(r, 200));
      await backend.sendKeys(tab, ['Enter']);
      let request = await arrived(5_000);
      if (!request) {
        await backend.sendKeys(tab, ['Enter']);
        request = await arrived(25_000);
      }
      if (!request) {
        const received = mock.conversationRequests().map((r) => mock.lastUserText(r));
        throw new Error(`the message never arrived; received ${JSON.stringify(received)}; screen:\n${await backend.readScreen(tab, 60)}`);
      }
      expect(mock.lastUserText(request)).toBe(message);
      await screenContaining(backend, tab, 'OK from mock.', 60);
    } finally {
      await backend.dispose();
      home.cleanup(pid === undefined ? [] : [pid]);
      await mock.close();
    }
  });
});
