import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { afterAll, beforeEach, describe, expect, it } from 'vitest';

import { CLASSES, COMMANDS, PLURAL, jxaName } from './dictionary.mjs';
import { startEmulator } from './harness.js';

const root = realpathSync(mkdtempSync(join(tmpdir(), 'tabcrew-emulator-test-')));
const emu = startEmulator(root);
const SDEF = resolve(import.meta.dirname, '../../../shared/reference/iterm2/iTerm2.sdef');

/** Writes a JXA file whose run(argv) has `args` (the JSON argument) and `app` at hand. */
function script(name: string, body: string): string {
  const file = join(root, `${name}.js`);
  writeFileSync(file, `function run(argv) {\n  const args = JSON.parse(argv[0] || '{}');\n  const app = Application('com.googlecode.iterm2');\n${body}\n}\n`);
  return file;
}

function run(file: string, arg: unknown = {}, env: Record<string, string> = {}) {
  return emu.osascript(['-l', 'JavaScript', file, JSON.stringify(arg)], env);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until<T>(what: string, probe: () => T | undefined, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (let i = 0; i < 500 && Date.now() < deadline; i++) {
    const v = probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const newWindow = script(
  'new-window',
  `  const w = app.createWindowWithDefaultProfile();
  const s = w.currentSession();
  if (args.tag) s.setVariable({ named: 'user.tag', to: args.tag });
  return JSON.stringify({ window: w.id(), session: s.id(), tty: s.tty(), pid: Number(s.variable({ named: 'pid' })) });`,
);

const describeSession = script(
  'describe-session',
  `  const w = app.windows.byId(args.window);
  const s = w.tabs.at(0).sessions.byId(args.session);
  return JSON.stringify({ name: s.name(), tag: s.variable({ named: 'user.tag' }) ?? null, unset: s.variable({ named: 'user.never' }) ?? null,
    uniqueID: s.uniqueID(), text: s.text(), jobName: s.variable({ named: 'jobName' }), windows: app.windows.id() });`,
);

const write = script(
  'write',
  `  const s = app.windows.byId(args.window).currentSession();
  s.write(args.params.contentsOfFile ? { contentsOfFile: Path(args.params.contentsOfFile) } : args.params);
  return 'ok';`,
);

const screen = script('screen', `  return app.windows.byId(args.window).currentSession().contents();`);

beforeEach(() => {
  emu.quit();
});

afterAll(() => {
  emu.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('iTerm2 emulator', { timeout: 60_000 }, () => {
  it('knows exactly the terms of iTerm2.sdef, with JXA spellings derived from them', () => {
    expect(jxaName('create tab with default profile')).toBe('createTabWithDefaultProfile');
    expect(jxaName('unique ID')).toBe('uniqueID');
    expect(jxaName('ANSI bright black color')).toBe('ansiBrightBlackColor');
    if (!existsSync(SDEF)) return; // the reference dictionary is outside this repository
    const sdef = readFileSync(SDEF, 'utf8');
    for (const m of sdef.matchAll(/<class name="([^"]+)"[^>]*>([\s\S]*?)<\/class>/g)) {
      const [, name, body] = m;
      const ours = CLASSES[name as keyof typeof CLASSES];
      expect(ours, `class ${name}`).toBeDefined();
      const props = [...body!.matchAll(/<property\b([^>]*)>/g)].map((p) => {
        const attr = (k: string) => new RegExp(`\\b${k}="([^"]*)"`).exec(p[1]!)?.[1];
        return { term: attr('name'), type: attr('type'), access: attr('access') === 'r' ? 'r' : 'rw' };
      });
      expect(ours.properties.map((p) => ({ term: p.term, type: p.type, access: p.access }))).toEqual(props);
      expect(ours.elements).toEqual([...body!.matchAll(/<element type="([^"]+)"/g)].map((e) => e[1]));
      expect(ours.respondsTo).toEqual([...body!.matchAll(/<responds-to command="([^"]+)"/g)].map((e) => e[1]));
    }
    const commands = [...sdef.matchAll(/<command name="([^"]+)"[\s\S]*?<\/command>/g)].map((m) => ({
      term: m[1],
      params: [...m[0].matchAll(/<parameter name="([^"]+)"([^>]*)>/g)].map((p) => ({ term: p[1], optional: /optional="yes"/.test(p[2]!) })),
      direct: /<direct-parameter/.test(m[0]),
    }));
    expect(COMMANDS.map((c) => ({ term: c.term, params: c.params, direct: c.direct !== null }))).toEqual(commands);
    expect(Object.keys(PLURAL).sort()).toEqual(['session', 'tab', 'window']);
  });

  it('persists windows, sessions and variables from one osascript run to the next, each session a live shell', () => {
    const created = emu.jxa<{ window: number; session: string; tty: string; pid: number }>(newWindow, { tag: 'kept across runs' });
    expect(created.session).toMatch(/^[0-9A-F-]{36}$/);
    expect(alive(created.pid)).toBe(true);
    const seen = emu.jxa<{ tag: string; unset: null; uniqueID: string; jobName: string; windows: number[] }>(describeSession, created);
    expect(seen).toMatchObject({ tag: 'kept across runs', unset: null, uniqueID: created.session, jobName: 'bash', windows: [created.window] });
  });

  it('write types into the session as a keyboard would: a carriage return unless newline is false', async () => {
    const { window } = emu.jxa<{ window: number }>(newWindow);
    expect(run(write, { window, params: { text: 'echo $((6 * 7))', newline: false } }).status).toBe(0);
    expect(run(write, { window, params: { text: ' "the answer"' } }).status).toBe(0);
    await until('the shell to answer', () => (/^42 the answer$/m.test(run(screen, { window }).stdout) ? true : undefined));
    const file = join(root, 'typed.txt');
    writeFileSync(file, 'echo from-a-file\r');
    expect(run(write, { window, params: { contentsOfFile: file } }).status).toBe(0);
    await until('the file to be typed', () => (/^from-a-file$/m.test(run(screen, { window }).stdout) ? true : undefined));
  });

  it('write refuses both text and a file, or neither, as iTerm2 does', () => {
    const { window } = emu.jxa<{ window: number }>(newWindow);
    const both = script('write-both', `  app.windows.byId(args.window).currentSession().write({ text: 'x', contentsOfFile: Path('/tmp/x') });`);
    expect(run(both, { window }).stderr).toBe(`${both}: execution error: Error: Error: Only one of text or contents of file should be specified. (1)\n`);
    const neither = script('write-neither', `  app.windows.byId(args.window).currentSession().write({ newline: false });`);
    expect(run(neither, { window }).stderr).toMatch(/Neither text nor contents of file was specified\. \(2\)/);
  });

  it('a SetUserVar escape code printed in a session sets its user variable, as iTerm2 does', async () => {
    const created = emu.jxa<{ window: number; session: string }>(newWindow);
    const command = `printf '\\033]1337;SetUserVar=tag=%s\\007' "$(printf %s 'set from inside' | base64)"`;
    expect(run(write, { window: created.window, params: { text: command } }).status).toBe(0);
    await until('the variable', () => (emu.jxa<{ tag: string | null }>(describeSession, created).tag === 'set from inside' ? true : undefined));
  });

  describe('is strict, failing the way osascript does', () => {
    const cases: [string, string, RegExp][] = [
      [
        'a name outside the dictionary is undefined, as in JXA',
        'return app.windows[0].foo();',
        /: execution error: Error: TypeError: .*foo is not a function \(-2700\)\n$/,
      ],
      ['a property another class has', 'return app.windows[0].tty();', /: execution error: Error: Error: Can't get object\. \(-1728\)\n$/],
      [
        'a command the class does not respond to',
        "app.windows[0].write({ text: 'x' });",
        /: execution error: Error: Error: Message not understood\. \(-1708\)\n$/,
      ],
      ['a parameter the command does not have', "app.windows[0].currentSession().write({ txt: 'x' });", /txt is not a parameter of write\. \(-1701\)\n$/],
      ['a missing required parameter', 'app.windows[0].currentSession().variable({});', /named of variable is missing\. \(-1701\)\n$/],
      ['an element that is not there', 'return app.windows.byId(1).name();', /Can't get object\. \(-1728\)\n$/],
      ['setting a read-only property', "app.windows[0].currentSession().tty = '/dev/x';", /Access not allowed\. \(-10003\)\n$/],
      [
        'setting a variable outside user.',
        "app.windows[0].currentSession().setVariable({ named: 'tty', to: 'x' });",
        /Only user variables may be set\. Name must start with “user\.”\. \(3\)\n$/,
      ],
      [
        'a dictionary term the emulator does not model',
        'return app.windows[0].currentSession().backgroundColor();',
        /'background color' is in iTerm2's dictionary but the emulator does not model it/,
      ],
      ['a whose clause', "return app.windows.whose({ name: 'x' })();", /whose clause .* not model/],
      ['an app named rather than addressed by bundle id', "return Application('iTerm2').version();", /Application can't be found\. \(-2700\)\n$/],
      ['a profile that does not exist', "app.createWindowWithProfile('Nope');", /No profile exists named 'Nope' \(1\)\n$/],
    ];
    for (const [what, body, stderr] of cases) {
      it(what, () => {
        emu.jxa(newWindow);
        const file = script(`strict-${what.replace(/\W+/g, '-')}`, `  ${body}`);
        const r = run(file);
        expect(r.status).toBe(1);
        expect(r.stderr.startsWith(`${file}: execution error: `)).toBe(true);
        expect(r.stderr).toMatch(stderr);
      });
    }
  });

  it('element access works as in JXA: calls, indexes, byId, length and properties of every element at once', () => {
    const a = emu.jxa<{ window: number; session: string }>(newWindow);
    const b = emu.jxa<{ window: number; session: string }>(newWindow);
    const file = script(
      'elements',
      `  const w = app.windows.byId(args.window);
  const t = w.createTabWithDefaultProfile();
  return JSON.stringify({
    count: app.windows.length, front: app.windows[0].id(), current: app.currentWindow().id(),
    ids: app.windows.id(), sessions: app.windows.tabs.sessions.id().length,
    tabs: w.tabs().length, tabIndex: t.index(), currentTab: w.currentTab().index(),
    isSpecifier: ObjectSpecifier.hasInstance(t), exists: w.tabs.at(5).exists(),
  });`,
    );
    // a new window goes to the front; a new tab becomes its window's current tab
    expect(emu.jxa(file, { window: a.window })).toEqual({
      count: 2,
      front: b.window,
      current: b.window,
      ids: [b.window, a.window],
      sessions: 2,
      tabs: 2,
      tabIndex: 2,
      currentTab: 2,
      isSpecifier: true,
      exists: false,
    });
  });

  it('closing a tab ends its programs; closing the last tab closes the window', async () => {
    const created = emu.jxa<{ window: number; pid: number }>(newWindow);
    const close = script('close-tab', '  app.windows.byId(args.window).tabs.at(0).close();');
    expect(run(close, created).status).toBe(0);
    await until('the shell to end', () => (alive(created.pid) ? undefined : true));
    expect(emu.stateJson().windows).toEqual([]);
  });

  it('closing the session of a one-pane tab while a job runs waits on a modal sheet: the event times out', async () => {
    const created = emu.jxa<{ window: number; session: string }>(newWindow);
    expect(run(write, { window: created.window, params: { text: 'sleep 60' } }).status).toBe(0);
    await until('sleep to run', () => (emu.jxa<{ jobName: string }>(describeSession, created).jobName === 'sleep' ? true : undefined));
    const close = script('close-session', '  app.windows.byId(args.window).currentSession().close();');
    expect(run(close, created).stderr).toMatch(/AppleEvent timed out\. \(-1712\)\n$/);
    const closeTab = script('close-the-tab', '  app.windows.byId(args.window).currentTab().close();');
    expect(run(closeTab, created).status).toBe(0);
  });

  it('quit kills every session and empties the model; the restarted iTerm2 has no windows', async () => {
    const a = emu.jxa<{ pid: number }>(newWindow);
    const b = emu.jxa<{ pid: number }>(newWindow);
    emu.quit();
    await until('every shell to end', () => (alive(a.pid) || alive(b.pid) ? undefined : true));
    expect(emu.stateJson()).toMatchObject({ windows: [], sessions: {}, app: { running: true } });
    const count = script('count', '  return String(app.windows().length);');
    expect(run(count).stdout).toBe('0\n');
  });

  it('not running: running() is false and every event fails with -600, until activate starts it', () => {
    emu.quit(true);
    const probe = script(
      'probe',
      '  const before = app.running(); try { app.windows(); } catch (e) { return JSON.stringify({ before, error: e.errorNumber }); }',
    );
    expect(emu.jxa(probe)).toEqual({ before: false, error: -600 });
    const r = run(script('windows', '  return app.windows().length;'));
    expect(r.stderr).toMatch(/: execution error: Error: Error: Application isn't running\. \(-600\)\n$/);
    const start = script('start', '  app.activate(); return JSON.stringify({ running: app.running(), windows: app.windows().length });');
    expect(emu.jxa(start)).toEqual({ running: true, windows: 0 });
    // an iTerm2 that cannot start at all stays down
    emu.quit(true);
    expect(run(start, {}, { TABCREW_EMULATOR_MODE: 'not_running' }).stderr).toMatch(/\(-600\)\n$/);
  });

  it('automation denied: running() answers, every event fails with -1743', () => {
    const probe = script('denied', '  const running = app.running(); return JSON.stringify({ running, version: app.version() });');
    const r = run(probe, {}, { TABCREW_EMULATOR_MODE: 'denied' });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`${probe}: execution error: Error: Error: Not authorized to send Apple events to iTerm2. (-1743)\n`);
  });

  it('a fault set in the state fails the next run once with its error number', () => {
    const version = script('version', '  return app.version();');
    emu.set({ faults: [{ code: -1712, times: 1 }] });
    expect(run(version).stderr).toMatch(/AppleEvent timed out\. \(-1712\)\n$/);
    expect(run(version).stdout).toBe('3.5.14\n');
  });

  it('logs every run as one JSON line with the script and its argument', () => {
    const before = emu.runs().length;
    const version = script('logged', '  return app.version();');
    run(version, { some: 'argument' });
    expect(emu.runs().slice(before)).toEqual([{ script: version, arg: JSON.stringify({ some: 'argument' }) }]);
  });
});
