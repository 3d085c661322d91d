import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claudeBin, makeClaudeHome } from '../support/claude-home.js';
import { isConversationRequest, startMockAnthropic, type MockAnthropic, type RecordedRequest } from '../support/mock-anthropic.js';
import { CLI, startTabcrew, TEST_STATE_KEY, waitForExit, type Crew } from '../support/tabcrew.js';

/** Agents come back, in their conversations, after the terminal and tabcrew restart. */
const base = realpathSync(mkdtempSync(join(tmpdir(), 'tabcrew-recovery-')));
const root = join(base, 'app');
const doomedRoot = join(base, 'doomed');
let mock: MockAnthropic;
let home: ReturnType<typeof makeClaudeHome>;
let crew: Crew;

const text = (req: RecordedRequest): string => mock.lastUserText(req) ?? '';
const args = () => ['--claude-path', claudeBin];

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Kills the crew's tmux server (every agent dies) and waits for the agents to be gone. */
async function killTerminal(c: Crew): Promise<void> {
  const pids = c.tmux('list-panes', '-a', '-F', '#{pane_pid}').split('\n').filter(Boolean).map(Number);
  c.tmux('kill-server');
  await waitForExit(pids);
}

beforeAll(async () => {
  mkdirSync(root);
  mkdirSync(doomedRoot);
  mock = await startMockAnthropic({ reply: (req) => `Noted: ${text(req).split('\n').pop()}` });
  home = makeClaudeHome({ apiKey: 'sk-ant-test-0123456789abcdefghij', baseUrl: mock.url, trustedDirs: [root, doomedRoot] });
  crew = await startTabcrew({ env: home.env, args: args() });
  await crew.ok('create_session', { root, name: 'app' });
  await crew.ok('create_agent', { session: 'app' });
  await crew.ok('create_agent', { session: 'app' });
});

afterAll(async () => {
  await crew?.stop();
  await mock?.close();
  home?.cleanup();
  rmSync(base, { recursive: true, force: true });
});

describe('recovery after restarts', () => {
  it('after the terminal is killed and tabcrew restarts, both agents are back in their conversations', async () => {
    for (const agent of ['Agent_1', 'Agent_2']) {
      const r = await crew.ok('send_message_to_agent', { agent, message: `remember the word ${agent}-apple`, wait_for_reply: true });
      expect(r.reply).toBe(`Noted: remember the word ${agent}-apple`);
    }
    const before = (await crew.ok('get_session_status', { session: 'app' })).agents;
    const dirs = crew.dirs;
    await crew.disconnect();
    await killTerminal(crew);

    crew = await startTabcrew({ env: home.env, args: args(), socket: crew.socket, dirs });
    const after = await until('both agents idle again', async () => {
      const s = await crew.ok('get_session_status', { session: 'app' });
      return s.agents.every((a: { status: string }) => a.status === 'idle') ? s.agents : undefined;
    });
    expect(after.map((a: { claude_session_id: string }) => a.claude_session_id)).toEqual(
      before.map((a: { claude_session_id: string }) => a.claude_session_id),
    );
    expect(crew.windows().sort()).toEqual(['Agent_1', 'Agent_2']);

    const r = await crew.ok('send_message_to_agent', { agent: 'Agent_1', message: 'what was the word?', wait_for_reply: true });
    expect(r.delivered).toBe('confirmed');
    const req = await mock.waitFor((q) => isConversationRequest(q) && text(q).includes('what was the word?'), 30_000);
    // The conversation was resumed, not restarted: the earlier turn travels with the new one.
    expect(JSON.stringify(req.body.messages)).toContain('remember the word Agent_1-apple');
  });

  it('a dry run reports a gone tab as would_resume and changes nothing', async () => {
    crew.tmux('kill-window', '-t', '=' + (await sessionGroup()) + ':Agent_2');
    const r = await crew.ok('recover_session', { session: 'app', dry_run: true });
    expect(r).toMatchObject({ adopted: ['Agent_1'], failed: [], dry_run: true });
    expect(r.recovered).toEqual([expect.objectContaining({ agent: 'Agent_2', action: 'would_resume' })]);
    expect(crew.windows()).toEqual(['Agent_1']);
    const real = await crew.ok('recover_session', { session: 'app' });
    expect(real.recovered).toEqual([expect.objectContaining({ agent: 'Agent_2', action: 'resumed', status: 'idle' })]);
    expect(crew.windows().sort()).toEqual(['Agent_1', 'Agent_2']);
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
    const pids = crew.tmux('list-panes', '-a', '-F', '#{window_name} #{pane_pid}').split('\n').filter((l) => l.startsWith('Agent_3 ')).map((l) => Number(l.split(' ')[1]));
    crew.tmux('kill-window', '-t', `=${await sessionGroup('doomed')}:Agent_3`);
    await waitForExit(pids);
    rmSync(doomedRoot, { recursive: true, force: true });
    const r = await crew.ok('recover_session', { session: 'doomed' });
    expect(r.failed).toEqual([{ agent: 'Agent_3', reason: `its root ${doomedRoot} no longer exists` }]);
    await crew.ok('delete_session', { session: 'doomed' });
  });

  it('`tabcrew recover --json` prints the same report and exits 0 when nothing failed', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [CLI, 'recover', '--json', '--state-dir', crew.dirs.state, '--log-dir', crew.dirs.logs, '--runtime-dir', crew.dirs.runtime, '--tmux-socket', crew.socket, ...args()],
      { env: { ...home.env, TABCREW_STATE_KEY: TEST_STATE_KEY } },
    );
    expect(JSON.parse(stdout)).toMatchObject({ adopted: ['Agent_1', 'Agent_2'], recovered: [], failed: [] });
  });
});

async function sessionGroup(name = 'app'): Promise<string> {
  const { sessions } = await crew.ok('list_sessions');
  return sessions.find((s: { name: string }) => s.name === name).session_id;
}
