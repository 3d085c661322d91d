import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claudeBin, makeClaudeHome } from '../support/claude-home.js';
import { mockedHome, tearDown } from '../support/e2e-world.js';
import { isConversationRequest, startMockAnthropic, type MockAnthropic, type RecordedRequest } from '../support/mock-anthropic.js';
import { CLI, startTabcrew, TEST_STATE_KEY, waitForExit, type Crew } from '../support/tabcrew.js';
import { BACKENDS, terminalFixture, type TerminalFixture } from '../support/terminal-fixture.js';
import { until as waitUntil } from '../support/until.js';
import { tmuxSessionName } from '../../src/terminals/tmux-text.js';

/** Agents come back, in their conversations, after the terminal and tabcrew restart. */
const base = realpathSync(mkdtempSync(join(tmpdir(), 'tabcrew-recovery-')));
const root = join(base, 'app');
const doomedRoot = join(base, 'doomed');
let mock: MockAnthropic;
let home: ReturnType<typeof makeClaudeHome>;
let crew: Crew;

const text = (req: RecordedRequest): string => mock.lastUserText(req) ?? '';
const args = () => ['--claude-path', claudeBin];

const until = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> => waitUntil(what, probe, timeoutMs, 250);

beforeAll(async () => {
  mkdirSync(root);
  mkdirSync(doomedRoot);
  mock = await startMockAnthropic({ reply: (req) => `Noted: ${text(req).split('\n').pop()}` });
  // Trusting the base trusts every directory under it (an entry covers its subdirectories).
  home = mockedHome(mock, [base]);
  crew = await startTabcrew({ env: home.env, args: args() });
  await crew.ok('create_session', { root, name: 'app' });
  await crew.ok('create_agent', { session: 'app' });
  await crew.ok('create_agent', { session: 'app' });
});

afterAll(() => tearDown([crew], mock, home, base));

describe.each(BACKENDS)('agents come back after the terminal dies (%s)', (backend) => {
  const appRoot = join(base, `resume-${backend}`);
  let fixture: TerminalFixture;
  let c: Crew;
  const start = (dirs?: Crew['dirs'], socket?: string) => startTabcrew({ env: fixture.env(home.env), args: [...args(), ...fixture.args], dirs, socket });

  beforeAll(async () => {
    mkdirSync(appRoot);
    fixture = terminalFixture(backend, base);
    c = await start();
    await c.ok('create_session', { root: appRoot, name: 'app' });
    await c.ok('create_agent', { session: 'app' });
    await c.ok('create_agent', { session: 'app' });
  });
  afterAll(async () => {
    await c?.stop();
    fixture?.stop();
  });

  it('both agents are back with the same conversation ids, and the next request carries the earlier turns', async () => {
    for (const agent of ['Agent_1', 'Agent_2']) {
      const r = await c.ok('send_message_to_agent', { agent, message: `remember ${backend} ${agent}-pear`, wait_for_reply: true });
      expect(r).toMatchObject({ delivered: 'confirmed', reply: `Noted: remember ${backend} ${agent}-pear` });
    }
    const before = (await c.ok('get_session_status', { session: 'app' })).agents;
    const dirs = c.dirs;
    await c.disconnect();
    await fixture.kill(c);

    c = await start(dirs, c.socket);
    const after = await until('both agents idle again', async () => {
      const s = await c.ok('get_session_status', { session: 'app' });
      return s.agents.every((a: { status: string }) => a.status === 'idle') ? s.agents : undefined;
    });
    expect(after.map((a: { claude_session_id: string }) => a.claude_session_id)).toEqual(before.map((a: { claude_session_id: string }) => a.claude_session_id));
    expect(await fixture.tabs(c)).toEqual(['Agent_1', 'Agent_2']);
    await c.ok('send_message_to_agent', { agent: 'Agent_2', message: `${backend}: what was the word?`, wait_for_reply: true });
    const req = await mock.waitFor((q) => isConversationRequest(q) && text(q).includes(`${backend}: what was the word?`), 30_000);
    expect(JSON.stringify(req.body.messages)).toContain(`remember ${backend} Agent_2-pear`);
    // The last lines of content, not the blank rows Claude Code leaves above its input box.
    await until(
      'the reply in the last 10 lines of get_agent_output',
      async () => {
        const { screen } = await c.ok('get_agent_output', { agent: 'Agent_2', lines: 10 });
        return screen.includes(`Noted: ${backend}: what was the word?`) ? screen : undefined;
      },
      15_000,
    );
  });
});

describe('recovery after restarts', () => {
  it('a dry run reports a gone tab as would_resume and changes nothing', async () => {
    await crew.ok('send_message_to_agent', { agent: 'Agent_2', message: 'a first turn to resume', wait_for_reply: true });
    crew.tmux('kill-window', '-t', '=' + (await sessionGroup()) + ':Agent_2');
    const r = await crew.ok('recover_session', { session: 'app', dry_run: true });
    expect(r).toMatchObject({ adopted: ['Agent_1'], failed: [], dry_run: true });
    expect(r.recovered).toEqual([expect.objectContaining({ agent: 'Agent_2', action: 'would_resume' })]);
    expect(crew.windows()).toEqual(['Agent_1']);
    const real = await crew.ok('recover_session', { session: 'app' });
    expect(real.recovered).toEqual([expect.objectContaining({ agent: 'Agent_2', action: 'resumed', status: 'idle' })]);
    expect(crew.windows().sort()).toEqual(['Agent_1', 'Agent_2']);
    // Each pane is titled as tabcrew titled it, whatever Claude Code sent at start (its kitty-graphics probe).
    expect(crew.tmux('list-panes', '-a', '-F', '#{pane_title}').trim().split('\n').sort()).toEqual(['Agent_1', 'Agent_2']);
  });

  it('a tagged tab no agent owns is listed as an orphan and left alone', async () => {
    const group = await sessionGroup();
    crew.tmux('new-window', '-d', '-t', `=${group}:`, '-n', 'stray', 'sleep', '120');
    crew.tmux('set-option', '-w', '-t', `=${group}:=stray`, '@tabcrew_tag', 'tabcrew:Agent_99:00000000-0000-4000-8000-000000000000');
    const r = await crew.ok('recover_session', {});
    expect(r.orphans).toEqual([expect.objectContaining({ tag: 'tabcrew:Agent_99:00000000-0000-4000-8000-000000000000', title: 'stray' })]);
    expect(crew.windows()).toContain('stray');
    crew.tmux('kill-window', '-t', `=${group}:=stray`);
  });

  it('an agent whose root is gone is reported failed, with the reason', async () => {
    await crew.ok('create_session', { root: doomedRoot, name: 'doomed' });
    await crew.ok('create_agent', { session: 'doomed' });
    await crew.ok('recover_session', { session: 'doomed' });
    const pids = crew
      .tmux('list-panes', '-a', '-F', '#{window_name} #{pane_pid}')
      .split('\n')
      .filter((l) => l.startsWith('Agent_3 '))
      .map((l) => Number(l.split(' ')[1]));
    crew.tmux('kill-window', '-t', `=${await sessionGroup('doomed')}:Agent_3`);
    await waitForExit(pids);
    rmSync(doomedRoot, { recursive: true, force: true });
    const r = await crew.ok('recover_session', { session: 'doomed' });
    expect(r.failed).toEqual([{ agent: 'Agent_3', reason: `its root ${doomedRoot} no longer exists` }]);
    await crew.ok('delete_session', { session: 'doomed' });
  });

  it('`tabcrew recover --json` prints the same report and exits 0 when nothing failed', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'recover', '--json', ...crew.flags, ...args()], {
      env: { ...home.env, TABCREW_STATE_KEY: TEST_STATE_KEY },
    });
    expect(JSON.parse(stdout)).toMatchObject({ adopted: ['Agent_1', 'Agent_2'], recovered: [], failed: [] });
  });
});

/** The tmux session of a tabcrew session: its name, then its id (`app-s-4k2x9q1m`). */
async function sessionGroup(name = 'app'): Promise<string> {
  const { sessions } = await crew.ok('list_sessions');
  return tmuxSessionName(sessions.find((s: { name: string }) => s.name === name).session_id, name);
}
