import { mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claudeBin, makeClaudeHome } from '../support/claude-home.js';
import { mockedHome } from '../support/e2e-world.js';
import { startMockAnthropic, type MockAnthropic } from '../support/mock-anthropic.js';
import { startTabcrew, waitForExit, type Crew } from '../support/tabcrew.js';
import { runCli } from './run-cli.js';

// One real Claude Code agent (npm) against the mock API, so status has something live to report.
const base = realpathSync(mkdtempSync(join(tmpdir(), 'tabcrew-cli-live-')));
const root = join(base, 'app');
let mock: MockAnthropic;
let home: ReturnType<typeof makeClaudeHome>;
let crew: Crew;
let flags: string[];
let panePids: number[] = [];

beforeAll(async () => {
  mkdirSync(root);
  mock = await startMockAnthropic();
  home = mockedHome(mock, [root]);
  crew = await startTabcrew({ env: home.env, args: ['--claude-path', claudeBin] });
  flags = ['--state-dir', crew.dirs.state, '--log-dir', crew.dirs.logs, '--runtime-dir', crew.dirs.runtime, '--tmux-socket', crew.socket];
  await crew.ok('create_session', { root, name: 'app' });
  await crew.ok('create_agent', { session: 'app' });
  await crew.ok('send_message_to_agent', { agent: 'Agent_1', message: 'say hi', wait_for_reply: true, timeout_s: 120, prepend_protocol: false });
  panePids = crew.tmux('list-panes', '-a', '-F', '#{pane_pid}').split('\n').filter(Boolean).map(Number);
});

afterAll(async () => {
  await crew?.stop();
  await waitForExit(panePids);
  await mock?.close();
  home?.cleanup(panePids);
  rmSync(base, { recursive: true, force: true });
});

const tmuxRunning = (): boolean => crew.windows().length > 0;

describe('tabcrew status with a live agent', () => {
  it('reports the agent idle, with the tokens of its conversation', async () => {
    const r = await runCli(['status', '--json', ...flags], home.env);
    expect(r.code, r.stderr).toBe(0);
    const [session] = JSON.parse(r.stdout).sessions;
    expect(session).toMatchObject({ name: 'app', root });
    expect(session.agents).toEqual([
      expect.objectContaining({ agent: 'Agent_1', status: 'idle', claude_session_id: expect.stringMatching(/^[0-9a-f-]{36}$/) }),
    ]);
    expect(session.agents[0].tokens.output).toBeGreaterThan(0);
    expect(Date.parse(session.agents[0].since)).toBeLessThanOrEqual(Date.now());
  });

  it('prints one row per agent in the table', async () => {
    const r = await runCli(['status', ...flags], home.env);
    expect(r.stdout).toMatch(/^app\s+Agent_1\s+idle\s+\d+[smh] ago\s+\S+ in, \S+ out\s+(\$\d+\.\d+|unpriced \(\S+\))\s+ok\s+-$/m);
    expect(r.stdout).toMatch(/^crew: \S+ tokens, /m);
  });

  it('agents lists the agent with its session from the state', async () => {
    const r = await runCli(['agents', '--json', ...flags], home.env);
    expect(JSON.parse(r.stdout).agents).toEqual([expect.objectContaining({ agent: 'Agent_1', session: 'app', status: 'idle' })]);
    const table = await runCli(['agents', ...flags], home.env);
    expect(table.stdout).toMatch(/^Agent_1\s+app\s+idle\s/m);
  });

  it('reports the agent detached once its tmux server is gone, without starting a new one', async () => {
    crew.tmux('kill-server');
    await waitForExit(panePids);
    const r = await runCli(['status', '--json', ...flags], home.env);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).sessions[0].agents[0]).toMatchObject({ agent: 'Agent_1', status: 'detached', status_source: 'terminal' });
    expect(tmuxRunning()).toBe(false);
  });
});
