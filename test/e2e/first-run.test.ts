import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claudeBin, makeClaudeHome, type ClaudeHome } from '../support/claude-home.js';
import { TEST_API_KEY } from '../support/e2e-world.js';
import { isConversationRequest, startMockAnthropic, type MockAnthropic } from '../support/mock-anthropic.js';
import { CLI, startTabcrew, type Crew } from '../support/tabcrew.js';

/**
 * A newcomer's first hour, with real Claude Code against the mock API: a HOME that has never
 * run Claude Code (no ~/.claude.json, no ~/.claude/), so it has never seen the API key, nor
 * the project folder, and its first-run setup never ran (that setup would check
 * api.anthropic.com, which a test cannot reach: offline Claude Code ends there). The README's
 * quick start, as written: register the server with the line `tabcrew config claude-code`
 * prints, ask for a session on ~/code/app, two agents, and a task for Agent_1. Nobody touches
 * a tab.
 */
const base = realpathSync(mkdtempSync(join(tmpdir(), 'tabcrew-first-run-')));
let mock: MockAnthropic;
const homes: ClaudeHome[] = [];
const crews: Crew[] = [];

/** Claude Code never run under this HOME; the key in the environment. */
function neverRunHome(): ClaudeHome {
  const home = makeClaudeHome({ apiKey: TEST_API_KEY, baseUrl: mock.url, neverRun: true });
  homes.push(home);
  expect(existsSync(join(home.home, '.claude.json'))).toBe(false);
  expect(existsSync(join(home.home, '.claude'))).toBe(false);
  return home;
}

/** Claude Code set up, the key in the environment, never approved; nothing trusted. */
function newcomerHome(): ClaudeHome {
  const home = makeClaudeHome({
    apiKey: TEST_API_KEY,
    baseUrl: mock.url,
    extraConfig: { customApiKeyResponses: { approved: [], rejected: [] } },
  });
  homes.push(home);
  return home;
}

const claudeConfig = (home: ClaudeHome) => JSON.parse(readFileSync(join(home.home, '.claude.json'), 'utf8'));
const errorText = (r: { content: unknown }) => (r.content as { type: string; text: string }[]).map((c) => c.text).join('\n');

beforeAll(async () => {
  mock = await startMockAnthropic();
});

afterAll(async () => {
  for (const crew of crews) await crew.stop();
  await mock?.close();
  for (const home of homes) home.cleanup();
  execFileSync('rm', ['-rf', base]);
});

describe("the README's quick start for an API-key user", () => {
  it('brings the first agent to idle in the normal start time, in a HOME that never ran Claude Code, with no hand in the tab', async () => {
    const home = neverRunHome();
    // No claude on PATH: the README's "npm install brings one", found by tabcrew itself.
    const path = home.env.PATH.split(delimiter)
      .filter((d) => {
        try {
          execFileSync('test', ['-x', join(d, 'claude')]);
          return false;
        } catch {
          return true;
        }
      })
      .join(delimiter);
    const env = { ...home.env, PATH: path };

    // "Register it with your client": the line tabcrew prints is the command the client runs.
    const line = execFileSync(process.execPath, [CLI, 'config', 'claude-code'], { env, encoding: 'utf8' }).trim();
    const registered = line.split(' -- ')[1].split(' ');
    expect(registered.slice(0, 3)).toEqual([process.execPath, CLI, 'serve']);
    // Only the test's own state, logs and tmux socket are added (startTabcrew), never the user's.
    // npm run test:claude-versions runs this on another Claude Code: the README's --claude-path.
    const other = process.env.TABCREW_TEST_CLAUDE ? ['--claude-path', claudeBin] : [];
    const crew = await startTabcrew({ env, args: [...registered.slice(3), ...other] });
    crews.push(crew);

    // "Create a tabcrew session on ~/code/app, start two agents, and have Agent_1 write the tests in TODO.md".
    const app = join(home.home, 'code', 'app');
    mkdirSync(app, { recursive: true });
    await crew.ok('create_session', { root: app, name: 'app' });
    const started = Date.now();
    const first = await crew.ok('create_agent', { session: 'app' });
    const took = Date.now() - started;
    expect(first).toMatchObject({
      agent: 'Agent_1',
      status: 'idle',
      trust: 'accepted_by_tabcrew',
      api_key: 'approved_by_tabcrew',
      onboarding: 'completed_by_tabcrew',
    });
    expect(first.note).toBeUndefined();
    // The normal start: Claude Code is up in about a second; the trust dialog costs one early look.
    expect(took).toBeLessThan(20_000);
    const version = /\d+\.\d+\.\d+/.exec(execFileSync(claudeBin, ['--version'], { env, encoding: 'utf8' }))![0];
    // How Claude Code records the end of its setup, and a Yes to the key.
    expect(claudeConfig(home)).toMatchObject({ hasCompletedOnboarding: true, lastOnboardingVersion: version });
    expect(claudeConfig(home).customApiKeyResponses.approved).toEqual([TEST_API_KEY.slice(-20)]);
    expect(readFileSync(join(home.home, '.claude.json'), 'utf8')).not.toContain(TEST_API_KEY);

    const second = await crew.ok('create_agent', { session: 'app' });
    expect(second).toMatchObject({ agent: 'Agent_2', status: 'idle', trust: 'already_trusted', api_key: 'already_approved', onboarding: 'already_completed' });

    const asked = mock.waitFor((r) => isConversationRequest(r) && (mock.lastUserText(r) ?? '').includes('write the tests in TODO.md'), 60_000);
    await crew.ok('send_message_to_agent', { agent: 'Agent_1', message: 'Please write the tests in TODO.md' });
    const request = await asked;
    // The agent talks to the API with the key it was given.
    expect(request.headers['x-api-key']).toBe(TEST_API_KEY);
    expect((await crew.ok('get_session_status', { session: 'app' })).agents.map((a: { status: string }) => a.status)).not.toContain('starting');
    // No key in what tabcrew wrote.
    for (const f of ['tabcrew.log']) {
      try {
        expect(readFileSync(join(crew.dirs.logs, f), 'utf8')).not.toContain(TEST_API_KEY);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    }
  });
});

describe('first-run dialogs tabcrew does not answer', () => {
  it('serve --no-accept-api-key: create_agent is an error naming the API-key dialog and its fix, at once, and nothing is left behind', async () => {
    const home = newcomerHome();
    const root = join(base, 'no-accept');
    mkdirSync(root);
    const crew = await startTabcrew({ env: home.env, args: ['--claude-path', claudeBin, '--no-accept-api-key'] });
    crews.push(crew);
    await crew.ok('create_session', { root, name: 'keyless' });
    const started = Date.now();
    const r = await crew.call('create_agent', { session: 'keyless' });
    expect(r.isError).toBe(true);
    expect(errorText(r)).toMatch(
      /Agent_1 could not start: Claude Code stopped at its "Detected a custom API key in your environment … Do you want to use this API key\?" dialog/,
    );
    expect(errorText(r)).toMatch(/--no-accept-api-key\)\. Fix: run `claude` once .* choose Yes; or restart tabcrew without --no-accept-api-key/);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(claudeConfig(home).customApiKeyResponses?.approved ?? []).toEqual([]);
    expect(crew.windows()).toEqual([]);
    expect((await crew.ok('list_sessions')).sessions[0].agents).toEqual([]);
  });

  it("a project's unapproved .mcp.json server: an error naming that dialog and its fix; tabcrew decides nothing for the project", async () => {
    const home = newcomerHome();
    const root = join(base, 'with-mcp');
    mkdirSync(root);
    writeFileSync(join(root, '.mcp.json'), JSON.stringify({ mcpServers: { demo: { command: '/bin/true' } } }));
    const crew = await startTabcrew({ env: home.env, args: ['--claude-path', claudeBin] });
    crews.push(crew);
    await crew.ok('create_session', { root, name: 'mcp' });
    const r = await crew.call('create_agent', { session: 'mcp' });
    expect(r.isError).toBe(true);
    expect(errorText(r)).toMatch(/"New MCP server found in this project" dialog: .*\.mcp\.json names MCP servers/);
    expect(errorText(r)).toMatch(/Fix: run `claude` once in a terminal in /);
    expect(() => readFileSync(join(root, '.claude', 'settings.local.json'))).toThrow();
    expect(crew.windows()).toEqual([]);
  });

  it('serve --no-accept-api-key in a HOME that never ran Claude Code: an error naming its first-run setup and the fix; nothing written', async () => {
    const home = neverRunHome();
    const root = join(base, 'never-set-up');
    mkdirSync(root);
    const crew = await startTabcrew({ env: home.env, args: ['--claude-path', claudeBin, '--no-accept-api-key'] });
    crews.push(crew);
    await crew.ok('create_session', { root, name: 'fresh' });
    const r = await crew.call('create_agent', { session: 'fresh' });
    expect(r.isError).toBe(true);
    expect(errorText(r)).toMatch(/showed its first-run setup \("Welcome to Claude Code": theme, sign-in, security notes\)/);
    expect(errorText(r)).toMatch(/Fix: run `claude` once in a terminal, finish the setup, .* or restart tabcrew without --no-accept-api-key/);
    // What Claude Code itself wrote at its start, and nothing of tabcrew's.
    expect(claudeConfig(home).hasCompletedOnboarding).toBeUndefined();
    expect(claudeConfig(home).customApiKeyResponses).toBeUndefined();
    expect(crew.windows()).toEqual([]);
  });
});
