import { mkdirSync, mkdtempSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claudeBin, makeClaudeHome } from '../support/claude-home.js';
import { mockedHome, tearDown } from '../support/e2e-world.js';
import { sessionIdOf, startMockAnthropic, toolResultOf, type MockAnthropic, type RecordedRequest } from '../support/mock-anthropic.js';
import { startTabcrew, type Crew } from '../support/tabcrew.js';

/**
 * An agent starts helpers of its own and coordinates them through its own tabcrew MCP server
 * (agent-mcp), with real Claude Code against the mock API: a prompt `DO {json}` makes the
 * mock answer with that tool_use block, and a tool result makes it answer "done: <result>".
 */
const base = realpathSync(mkdtempSync(join(tmpdir(), 'tabcrew-helpers-')));
const app = join(base, 'app');
let mock: MockAnthropic;
let home: ReturnType<typeof makeClaudeHome>;
let crew: Crew;
/** The first server, replaced by one whose client answers elicitation; its temp dirs go at the end. */
let first: Crew | undefined;
let parentId = '';

const text = (req: RecordedRequest): string => mock.lastUserText(req) ?? '';
let since = 0;
const doTool = (name: string, input: Record<string, unknown>) => {
  since = mock.requests.length;
  return crew.ok('send_message_to_agent', {
    agent: 'Agent_1',
    message: `DO ${JSON.stringify({ name: `mcp__tabcrew__${name}`, input })}`,
    prepend_protocol: false,
  });
};
/** The result of the parent's last tool call (since doTool), as the model saw it. */
const resultOf = async (marker: string) => {
  const after = since;
  const r = await mock.waitFor(
    (q) => mock.requests.indexOf(q) >= after && sessionIdOf(q) === parentId && toolResultOf(q)?.text.includes(marker) === true,
    240_000,
  );
  return toolResultOf(r)!;
};

const ARGS = ['--backend', 'tmux', '--claude-path', claudeBin, '--max-children', '1'];

beforeAll(async () => {
  mkdirSync(app);
  mock = await startMockAnthropic();
  mock.setReply((req) => {
    const result = toolResultOf(req);
    if (result) return `done: ${result.is_error ? 'ERROR ' : ''}${result.text.slice(0, 300)}`;
    const m = /DO (\{.*\})\s*$/s.exec(text(req));
    if (m) return { text: 'Calling it.', toolUse: JSON.parse(m[1]) };
    if (text(req).includes('PING')) return 'PONG from a helper';
    return 'OK';
  });
  home = mockedHome(mock, [base]);
  crew = await startTabcrew({ env: home.env, args: ARGS });
  await crew.ok('create_session', { root: app, name: 'app' });
  parentId = (await crew.ok('create_agent', { session: 'app' })).claude_session_id;
}, 300_000);

afterAll(() => tearDown([crew, first], mock, home, base));

describe('helpers an agent starts through its own MCP server', () => {
  it('spawn_agent starts a helper in the same session, with the caller as its parent and its first task typed', async () => {
    await doTool('spawn_agent', { role: 'testing_specialist', task: 'FIRST TASK FROM THE PARENT' });
    const spawned = await resultOf('"parent"');
    expect(spawned.is_error).toBe(false);
    expect(JSON.parse(spawned.text)).toMatchObject({ agent: 'Agent_2', parent: 'Agent_1' });
    await mock.waitFor((r) => sessionIdOf(r) !== parentId && text(r).includes('FIRST TASK FROM THE PARENT'), 120_000);
    const status = await crew.ok('get_session_status', { session: 'app' });
    const byName = Object.fromEntries(status.agents.map((a: any) => [a.name ?? a.agent, a]));
    expect(byName.Agent_2).toMatchObject({ parent: 'Agent_1' });
    expect(byName.Agent_1).toMatchObject({ children: ['Agent_2'] });
  }, 300_000);

  it('a second helper is refused naming --max-children, and nothing is started', async () => {
    await doTool('spawn_agent', {});
    const refused = await resultOf('--max-children');
    expect(refused.is_error).toBe(true);
    expect((await crew.ok('list_sessions')).sessions[0].agents).toEqual(['Agent_1', 'Agent_2']);
  }, 300_000);

  it("coordinate_agents from the agent returns a run at once; the run collects the helper's reply", async () => {
    await doTool('coordinate_agents', { mode: 'parallel', task: 'PING', agents: ['Agent_2'] });
    const started = await resultOf('"run_id"');
    expect(started.is_error).toBe(false);
    const run = JSON.parse(started.text);
    expect(run).toMatchObject({ mode: 'parallel', caller: 'Agent_1', agents: ['Agent_2'] });
    let view: any;
    for (let i = 0; i < 120; i++) {
      view = await crew.ok('get_coordination', { run_id: run.run_id });
      if (view.state !== 'running') break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    expect(view).toMatchObject({ state: 'done', results: [{ agent: 'Agent_2', status: 'done', reply: 'PONG from a helper' }] });
  }, 300_000);

  it('an agent may not coordinate itself', async () => {
    await doTool('coordinate_agents', { mode: 'parallel', task: 'PING', agents: ['Agent_1'] });
    const refused = await resultOf('');
    expect(refused.is_error).toBe(true);
  }, 300_000);

  it('deleting a parent asks the person through elicitation: no keeps both agents, yes deletes its helper with it', async () => {
    const asked: string[] = [];
    let yes = false;
    // The same crew behind a server whose client can ask a person.
    first = crew;
    await first.disconnect();
    crew = await startTabcrew({
      env: home.env,
      args: ARGS,
      dirs: first.dirs,
      socket: first.socket,
      onElicit: (message) => {
        asked.push(message);
        return yes ? { action: 'accept', content: { cascade: true } } : { action: 'decline' };
      },
    });
    const kept = await crew.call('delete_agent', { agent: 'Agent_1' });
    expect(kept.isError).toBe(true);
    expect(JSON.stringify(kept.content)).toMatch(/Agent_1 was not deleted: the person chose decline \(Agent_2\)/);
    expect(asked).toEqual([expect.stringMatching(/Agent_1 has helpers of its own \(Agent_2\)/)]);
    expect((await crew.ok('get_session_status', { session: 'app' })).agents.map((a: { agent: string }) => a.agent)).toEqual(['Agent_1', 'Agent_2']);

    yes = true;
    expect(await crew.ok('delete_agent', { agent: 'Agent_1' })).toMatchObject({ agent: 'Agent_1', deleted: true, children_deleted: ['Agent_2'] });
    expect((await crew.ok('get_session_status', { session: 'app' })).agents).toEqual([]);
  }, 300_000);
});
