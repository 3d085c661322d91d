import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentCall, agentSecret } from '../support/agent-socket-client.js';
import { claudeBin, makeClaudeHome } from '../support/claude-home.js';
import { mockedHome, tearDown } from '../support/e2e-world.js';
import { sessionIdOf, startMockAnthropic, toolResultOf, type MockAnthropic, type RecordedRequest } from '../support/mock-anthropic.js';
import { CLI, startTabcrew, TEST_STATE_KEY, type Crew } from '../support/tabcrew.js';

/**
 * Agents talking to each other through their own tabcrew MCP server (agent-mcp), with real
 * Claude Code against the mock API. The mock plays the model: a prompt `DO {json}` makes it
 * answer with that tool_use block; a tool result makes it answer "done: <result>"; a prompt
 * `SLOW` keeps the agent busy for a while. tmux only: delivery itself is proven per backend
 * in agents.test.ts.
 */
const base = realpathSync(mkdtempSync(join(tmpdir(), 'tabcrew-msg-')));
const app = join(base, 'app');
const other = join(base, 'other');
let mock: MockAnthropic;
let home: ReturnType<typeof makeClaudeHome>;
let crew: Crew;
const ids: Record<string, string> = {};

const SLOW_MS = 12_000;

const userTexts = (req: RecordedRequest): string[] =>
  (req.body?.messages ?? [])
    .filter((m: any) => m.role === 'user')
    .map((m: any) => (typeof m.content === 'string' ? m.content : (m.content ?? []).map((b: any) => b.text ?? '').join('')));

const conv = (agent: string): RecordedRequest[] => mock.conversationRequests(ids[agent]);
const text = (req: RecordedRequest): string => mock.lastUserText(req) ?? '';
const tell = (agent: string, message: string) => crew.ok('send_message_to_agent', { agent, message, prepend_protocol: false });
const doTool = (agent: string, name: string, input: Record<string, unknown>) => tell(agent, `DO ${JSON.stringify({ name: `mcp__tabcrew__${name}`, input })}`);

beforeAll(async () => {
  mkdirSync(app);
  mkdirSync(other);
  writeFileSync(join(app, 'TODO.md'), '# TODO\n\n- [ ] Build the client\n- [ ] Write the tests\n');
  mock = await startMockAnthropic();
  mock.setReply((req) => {
    const result = toolResultOf(req);
    if (result) return `done: ${result.is_error ? 'ERROR ' : ''}${result.text.slice(0, 300)}`;
    const t = text(req);
    const m = /DO (\{.*\})\s*$/s.exec(t);
    if (m) return { text: 'Calling it.', toolUse: JSON.parse(m[1]) };
    if (t.trim().endsWith('SLOW')) return { text: 'slow done', delayMs: SLOW_MS };
    return 'OK';
  });
  home = mockedHome(mock, [base]);
  crew = await startTabcrew({ env: home.env, args: ['--backend', 'tmux', '--claude-path', claudeBin] });
  await crew.ok('create_session', { root: app, name: 'app' });
  await crew.ok('create_session', { root: other, name: 'other' });
  for (const session of ['app', 'app', 'app', 'other']) {
    const a = await crew.ok('create_agent', { session });
    ids[a.agent] = a.claude_session_id;
  }
}, 400_000);

afterAll(() => tearDown([crew], mock, home, base));

describe('messages between real Claude Code agents', () => {
  it("Agent_1's send_message appears in idle Agent_2's next API request, with Agent_1 as the verified sender", async () => {
    await doTool('Agent_1', 'send_message', { to: 'Agent_2', message: 'Please build the client for the new API.', kind: 'question' });
    const result = await mock.waitFor((r) => sessionIdOf(r) === ids.Agent_1 && !!toolResultOf(r), 60_000);
    // Claude Code ran the tool without a permission dialog: its result reached the API.
    expect(toolResultOf(result)).toMatchObject({ is_error: false });
    const sent = JSON.parse(toolResultOf(result)!.text);
    expect(sent).toMatchObject({ delivered: 'now', message_id: expect.stringMatching(/^m-/) });
    const got = await mock.waitFor((r) => sessionIdOf(r) === ids.Agent_2 && text(r).includes('Please build the client'), 60_000);
    expect(text(got)).toMatch(
      new RegExp(
        `^\\[ADDER\\+ from Agent_1 to Agent_2 · session app · question · message ${sent.message_id} · delivery d-[0-9a-z]+\\]\\nPlease build the client for the new API\\.$`,
      ),
    );
    // The API request can come before tabcrew has recorded the hook's confirmation: look again, briefly.
    let listed: any;
    let m: any;
    for (let i = 0; i < 50; i++) {
      listed = await crew.ok('list_messages', { session: 'app' });
      m = listed.messages.find((x: any) => x.message_id === sent.message_id);
      if (m?.recipients[0]?.state !== 'delivering') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(m).toMatchObject({
      from: 'Agent_1',
      to: ['Agent_2'],
      kind: 'question',
      recipients: [{ agent: 'Agent_2', state: 'delivered', outcome: 'confirmed' }],
    });
    expect(JSON.stringify(listed)).not.toContain('Please build the client');
  });

  it('a message to a busy agent reaches it after its turn ends, exactly once', async () => {
    await tell('Agent_3', 'SLOW');
    const slow = await mock.waitFor((r) => sessionIdOf(r) === ids.Agent_3 && text(r).trim() === 'SLOW', 30_000);
    await doTool('Agent_1', 'send_message', { to: 'Agent_3', message: 'Write the tests once the client builds.', kind: 'handoff' });
    const result = await mock.waitFor((r) => sessionIdOf(r) === ids.Agent_1 && toolResultOf(r)?.text.includes('Agent_3') === true, 60_000);
    expect(JSON.parse(toolResultOf(result)!.text)).toMatchObject({ delivered: 'queued' });
    const got = await mock.waitFor((r) => sessionIdOf(r) === ids.Agent_3 && text(r).includes('Write the tests once'), SLOW_MS + 60_000);
    expect(got.seq).toBeGreaterThan(slow.seq);
    // The busy turn's reply comes before the message in the conversation: it waited for the turn's end.
    const history = JSON.stringify(got.body.messages);
    expect(history.indexOf('slow done')).toBeGreaterThan(-1);
    expect(history.indexOf('slow done')).toBeLessThan(history.indexOf('Write the tests once'));
    expect(text(got)).toMatch(/^\[ADDER\+ from Agent_1 to Agent_3 · session app · handoff · message m-/);
    // Once: one more turn of Agent_3 carries the message once in its history, and no request ever had it twice.
    await tell('Agent_3', 'anything else?');
    const later = await mock.waitFor((r) => sessionIdOf(r) === ids.Agent_3 && text(r).includes('anything else?'), 60_000);
    expect(userTexts(later).filter((t) => t.includes('Write the tests once')).length).toBe(1);
    expect(conv('Agent_3').filter((r) => text(r).includes('Write the tests once')).length).toBe(1);
  }, 180_000);

  it('two agents claiming one TODO.md item: one gets it, the other is refused', async () => {
    await Promise.all([doTool('Agent_1', 'claim_task', { task: 'Build the client' }), doTool('Agent_2', 'claim_task', { task: 'Build the client' })]);
    const results = await Promise.all(
      ['Agent_1', 'Agent_2'].map((a) => mock.waitFor((r) => sessionIdOf(r) === ids[a] && !!toolResultOf(r)?.text.match(/claimed/), 60_000)),
    );
    const outcomes = results.map((r) => toolResultOf(r)!);
    expect(outcomes.filter((o) => !o.is_error).length).toBe(1);
    const refused = outcomes.find((o) => o.is_error)!;
    expect(refused.text).toMatch(/already claimed by Agent_[12]; pick another open item/);
    const todo = readFileSync(join(app, 'TODO.md'), 'utf8');
    expect(todo.match(/- \[ \] Build the client \(Agent_[12]\)\n/g)?.length).toBe(1);
  }, 120_000);
});

describe('the agent socket refuses what an agent may not do', () => {
  const call = (agent: string, secretOf: string, method: string, params: Record<string, unknown> = {}) =>
    agentCall(crew.dirs.runtime, { agent, secret: agentSecret(crew.dirs.runtime, ids[secretOf]), method, params });

  it('a sender that forges another agent (wrong secret) is refused, and nothing is sent', async () => {
    const before = (await crew.ok('list_messages', { session: 'app' })).messages.length;
    const r = await call('Agent_2', 'Agent_1', 'send_message', { to: 'Agent_3', message: 'I am Agent_2, trust me' });
    expect(r).toMatchObject({ ok: false, error: expect.stringMatching(/secret does not match Agent_2's current one/) });
    expect((await agentCall(crew.dirs.runtime, { agent: 'Agent_2', secret: 'x'.repeat(43), method: 'list_peers' })).ok).toBe(false);
    expect((await crew.ok('list_messages', { session: 'app' })).messages.length).toBe(before);
  });

  it("reading another agent's inbox is refused; an agent's own inbox holds only its messages", async () => {
    // Agent_3 is made busy so that a message to it stays queued (unread) in its inbox.
    await tell('Agent_3', 'SLOW');
    await mock.waitFor((r) => sessionIdOf(r) === ids.Agent_3 && text(r).trim() === 'SLOW' && r.seq > conv('Agent_3').length - 2, 30_000);
    const sent = await call('Agent_1', 'Agent_1', 'send_message', { to: 'Agent_3', message: 'queued for Agent_3 only' });
    expect(sent).toMatchObject({ ok: true, result: { delivered: 'queued' } });
    const stolen = await call('Agent_3', 'Agent_1', 'check_messages');
    expect(stolen).toMatchObject({ ok: false, error: expect.stringMatching(/secret does not match Agent_3/) });
    const own = await call('Agent_1', 'Agent_1', 'check_messages');
    expect(own.ok).toBe(true);
    expect(JSON.stringify(own.result)).not.toContain('queued for Agent_3 only');
    const theirs = await call('Agent_3', 'Agent_3', 'check_messages');
    expect(theirs.result.messages.map((m: any) => [m.from, m.text])).toEqual([['Agent_1', 'queued for Agent_3 only']]);
    // Taken by check_messages: it is never typed into Agent_3's prompt as well.
    const listed = (await crew.ok('list_messages', { session: 'app', agent: 'Agent_3' })).messages.find((m: any) => m.message_id === sent.result.message_id);
    expect(listed.recipients[0].state).toBe('read');
  });

  it('messaging an agent of another session is refused', async () => {
    const r = await call('Agent_1', 'Agent_1', 'send_message', { to: 'Agent_4', message: 'across sessions' });
    expect(r).toMatchObject({ ok: false, error: expect.stringMatching(/no agent "Agent_4" in your session "app".*messages stay within a session/) });
    const all = await call('Agent_4', 'Agent_4', 'send_message', { to: 'all', message: 'hello other' });
    expect(all).toMatchObject({ ok: false, error: expect.stringMatching(/no other agent in session "other"/) });
  });

  it('two claims racing on the socket: one succeeds, one is refused', async () => {
    await call('Agent_1', 'Agent_1', 'add_task', { text: 'Race for this one' });
    const [a, b] = await Promise.all([
      call('Agent_1', 'Agent_1', 'claim_task', { task: 'Race for this one' }),
      call('Agent_2', 'Agent_2', 'claim_task', { task: 'Race for this one' }),
    ]);
    expect([a.ok, b.ok].filter(Boolean).length).toBe(1);
    expect((a.ok ? b : a).error).toMatch(/already claimed by Agent_[12]/);
  });

  it("a relaunch rotates the agent's secret: the old one speaks for nobody", async () => {
    const old = agentSecret(crew.dirs.runtime, ids.Agent_4);
    const fresh = await crew.ok('start_new_agent_conversation', { agent: 'Agent_4' });
    ids.Agent_4 = fresh.claude_session_id;
    const now = agentSecret(crew.dirs.runtime, ids.Agent_4);
    expect(now).not.toBe(old);
    expect(await agentCall(crew.dirs.runtime, { agent: 'Agent_4', secret: old, method: 'list_peers' })).toMatchObject({ ok: false });
    expect(await agentCall(crew.dirs.runtime, { agent: 'Agent_4', secret: now, method: 'list_peers' })).toMatchObject({
      ok: true,
      result: { you: 'Agent_4', peers: [] },
    });
  }, 120_000);

  it('the secret is a 0600 file, the socket 0600, and neither argv nor tmux global env holds the secret', () => {
    const secret = agentSecret(crew.dirs.runtime, ids.Agent_1);
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(statSync(join(crew.dirs.runtime, 'agents', ids.Agent_1, 'agent-secret')).mode & 0o777).toBe(0o600);
    expect(statSync(join(crew.dirs.runtime, 'shared', 'tabcrew.sock')).mode & 0o777).toBe(0o600);
    expect(execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })).not.toContain(secret);
    expect(crew.tmux('show-environment', '-g')).not.toContain(secret);
    expect(readFileSync(join(crew.dirs.logs, 'tabcrew.log'), 'utf8')).not.toContain(secret);
  });
});

describe('messages across a tabcrew restart', () => {
  it('a message queued for a busy agent is delivered by the next tabcrew, and listed there', async () => {
    await tell('Agent_2', 'SLOW');
    await mock.waitFor((r) => sessionIdOf(r) === ids.Agent_2 && text(r).trim() === 'SLOW', 30_000);
    const sent = await agentCall(crew.dirs.runtime, {
      agent: 'Agent_1',
      secret: agentSecret(crew.dirs.runtime, ids.Agent_1),
      method: 'send_message',
      params: { to: 'Agent_2', message: 'survives the restart' },
    });
    expect(sent.result.delivered).toBe('queued');
    const dirs = crew.dirs;
    const socket = crew.socket;
    await crew.disconnect();
    crew = await startTabcrew({ env: home.env, args: ['--backend', 'tmux', '--claude-path', claudeBin], dirs, socket });
    const got = await mock.waitFor((r) => sessionIdOf(r) === ids.Agent_2 && text(r).includes('survives the restart'), SLOW_MS + 90_000);
    expect(text(got)).toMatch(/^\[ADDER\+ from Agent_1 to Agent_2 · session app · note · message m-/);
    const listed = await crew.ok('list_messages', { session: 'app' });
    expect(listed.messages.map((m: any) => m.message_id)).toContain(sent.result.message_id);
    const shown = execFileSync(
      process.execPath,
      [CLI, 'messages', 'show', sent.result.message_id, '--state-dir', dirs.state, '--log-dir', dirs.logs, '--runtime-dir', dirs.runtime],
      { encoding: 'utf8', env: { ...home.env, TABCREW_STATE_KEY: TEST_STATE_KEY } },
    );
    expect(shown).toContain('survives the restart');
    expect(shown).toContain('from Agent_1 to Agent_2');
  }, 240_000);
});
