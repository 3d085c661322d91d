import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tail } from '../../src/audit/audit-log.js';
import { claudeBin, makeClaudeHome } from '../support/claude-home.js';
import { isConversationRequest, sessionIdOf, startMockAnthropic, type MockAnthropic, type RecordedRequest } from '../support/mock-anthropic.js';
import { startTabcrew, type Crew } from '../support/tabcrew.js';

/**
 * A crew that runs for long: cost from the transcripts at the price table's rates, a budget
 * that pauses an agent after its turn, a Claude Code that dies and comes back as itself.
 * Real Claude Code against the mock API, whose replies carry chosen usage figures.
 */
const MODEL = 'claude-tabcrew-test';
// Per million tokens; with USAGE below one API call costs exactly $0.0465.
const PRICE = { input: 2, output: 10, cache_read: 0.5, cache_write: 4 };
const USAGE = { input_tokens: 10_000, output_tokens: 2_000, cache_read_input_tokens: 5_000, cache_creation_input_tokens: 1_000 };
const CALL_USD = (10_000 * 2 + 2_000 * 10 + 5_000 * 0.5 + 1_000 * 4) / 1e6;

const base = realpathSync(mkdtempSync(join(tmpdir(), 'tabcrew-long-')));
const root = join(base, 'app');
let mock: MockAnthropic;
let home: ReturnType<typeof makeClaudeHome>;
let crew: Crew;
const notices: { logger?: string; data: any }[] = [];

const text = (req: RecordedRequest): string => mock.lastUserText(req) ?? '';

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const agentStatus = async (agent: string): Promise<any> => (await crew.ok('get_session_status', { session: 'app' })).agents.find((a: any) => a.agent === agent);

beforeAll(async () => {
  mkdirSync(root);
  mock = await startMockAnthropic({ reply: (req) => ({ text: `Noted: ${text(req).split('\n').pop()}`, usage: USAGE }) });
  home = makeClaudeHome({ apiKey: 'sk-ant-test-0123456789abcdefghij', baseUrl: mock.url, trustedDirs: [base] });
  const prices = join(base, 'prices.json');
  writeFileSync(prices, JSON.stringify({ [MODEL]: PRICE }));
  crew = await startTabcrew({ env: home.env, args: ['--claude-path', claudeBin, '--prices-file', prices, '--usage-record-every', '2s'] });
  crew.client.setNotificationHandler(LoggingMessageNotificationSchema, async (n) => void notices.push({ logger: n.params.logger, data: n.params.data }));
  await crew.ok('create_session', { root, name: 'app' });
}, 120_000);

afterAll(async () => {
  await crew?.stop();
  await mock?.close();
  home?.cleanup();
  rmSync(base, { recursive: true, force: true });
});

describe('cost, budgets and crashes of a long-running crew', () => {
  it("each agent's cost is its transcript's tokens at the price table's rates, with session and crew totals", async () => {
    const a = await crew.ok('create_agent', { session: 'app', model: MODEL });
    await crew.ok('send_message_to_agent', { agent: a.agent, message: 'first task', wait_for_reply: true });
    await crew.ok('send_message_to_agent', { agent: a.agent, message: 'second task', wait_for_reply: true });
    const calls = mock.conversationRequests(a.claude_session_id).length;
    expect(calls).toBeGreaterThanOrEqual(2);
    const me = await agentStatus(a.agent);
    expect(me.usage).toMatchObject({
      input: calls * 10_000,
      output: calls * 2_000,
      cache_read: calls * 5_000,
      cache_write: calls * 1_000,
      cost_complete: true,
      unpriced_models: [],
    });
    expect(me.usage.cost_usd).toBeCloseTo(calls * CALL_USD, 6);
    expect(me.usage.by_model).toEqual([expect.objectContaining({ model: MODEL, cost_usd: me.usage.cost_usd })]);
    expect(me.health).toMatchObject({ health: 'ok' });
    const status = await crew.ok('get_session_status', { session: 'app' });
    expect(status.usage.cost_usd).toBeCloseTo(me.usage.cost_usd, 6);
    expect(status.crew_usage.cost_usd).toBeCloseTo(me.usage.cost_usd, 6);
    // The audit log's periodic usage record carries the same figures.
    const record = await until('a usage record', async () =>
      (await tail(crew.dirs.logs, { type: 'usage', limit: 1 })).find((r: any) => r.crew.cost_usd >= me.usage.cost_usd),
    );
    expect((record as any).agents).toEqual([expect.objectContaining({ agent: a.agent, cost_usd: me.usage.cost_usd })]);
  });

  it('a model missing from the price table is reported unpriced, not $0', async () => {
    const b = await crew.ok('create_agent', { session: 'app', model: 'claude-not-in-the-table' });
    await crew.ok('send_message_to_agent', { agent: b.agent, message: 'an unpriced task', wait_for_reply: true });
    const me = await agentStatus(b.agent);
    expect(me.usage).toMatchObject({ cost_usd: null, cost_complete: false, unpriced_models: ['claude-not-in-the-table'] });
    expect(me.usage.total_tokens).toBeGreaterThan(0);
    const status = await crew.ok('get_session_status', { session: 'app' });
    expect(status.crew_usage).toMatchObject({ cost_complete: false, unpriced_models: ['claude-not-in-the-table'] });
    await crew.ok('delete_agent', { agent: b.agent });
  });

  it('an agent that reaches its budget is paused after its turn, refuses the next message naming the limit, and resume_agent lifts it', async () => {
    const c = await crew.ok('create_agent', { session: 'app', model: MODEL, max_cost_usd: 0.04 });
    const first = await crew.ok('send_message_to_agent', { agent: c.agent, message: 'an expensive task', wait_for_reply: true });
    // The turn that crossed the limit was let finish.
    expect(first.reply).toBe('Noted: an expensive task');
    const refused = await crew.call('send_message_to_agent', { agent: c.agent, message: 'one more' });
    expect(refused.isError).toBe(true);
    expect(JSON.stringify(refused.content)).toMatch(/paused: its cost reached max_cost_usd \(\$0\.0400; used \$0\.0465\).*resume_agent/);
    expect(mock.conversationRequests(c.claude_session_id).some((r) => text(r).includes('one more'))).toBe(false);
    const paused = await until('the agent paused', async () => {
      const s = await agentStatus(c.agent);
      return s.status === 'paused' ? s : undefined;
    });
    expect(paused.paused).toMatchObject({ reason: 'budget', limit: 'max_cost_usd', value: 0.04 });
    await until('the client told', async () =>
      notices.find((n) => n.logger === 'tabcrew.attention' && n.data.agent === c.agent && n.data.reason === 'budget') ? true : undefined,
    );
    expect(notices.some((n) => n.logger === 'tabcrew.status' && n.data.agent === c.agent && n.data.to === 'paused')).toBe(true);

    const tooLow = await crew.call('resume_agent', { agent: c.agent, raise_to: 0.01 });
    expect(tooLow.isError).toBe(true);
    const resumed = await crew.ok('resume_agent', { agent: c.agent, raise_to: 1 });
    expect(resumed).toMatchObject({ agent: c.agent, status: 'idle', limit: 'max_cost_usd', raised_to: 1 });
    const again = await crew.ok('send_message_to_agent', { agent: c.agent, message: 'after the raise', wait_for_reply: true });
    expect(again.reply).toBe('Noted: after the raise');
    await crew.ok('delete_agent', { agent: c.agent });
  });

  it('a Claude Code killed with SIGKILL is relaunched with its conversation, and the attempt is audited', async () => {
    const d = await crew.ok('create_agent', { session: 'app', model: MODEL });
    await crew.ok('send_message_to_agent', { agent: d.agent, message: 'remember the word kiwi', wait_for_reply: true });
    const pane = crew
      .tmux('list-panes', '-a', '-F', '#{window_name} #{pane_pid}')
      .split('\n')
      .find((l) => l.startsWith(`${d.agent} `))!;
    process.kill(Number(pane.split(' ')[1]), 'SIGKILL');
    const back = await until('the agent relaunched', async () => {
      const audit = await tail(crew.dirs.logs, { type: 'relaunch', agent: d.agent, limit: 5 });
      const s = await agentStatus(d.agent);
      return audit.some((r: any) => r.outcome === 'ok') && s.status === 'idle' ? s : undefined;
    });
    expect(back.claude_session_id).toBe(d.claude_session_id);
    const [attempt] = await tail(crew.dirs.logs, { type: 'relaunch', agent: d.agent, limit: 1 });
    expect(attempt).toMatchObject({ attempt: 1, outcome: 'ok', claude_session_id: d.claude_session_id });
    await crew.ok('send_message_to_agent', { agent: d.agent, message: 'what was the word?', wait_for_reply: true });
    const req = await mock.waitFor((q) => isConversationRequest(q) && text(q).includes('what was the word?'), 30_000);
    expect(sessionIdOf(req)).toBe(d.claude_session_id);
    expect(JSON.stringify(req.body.messages)).toContain('remember the word kiwi');
    await crew.ok('delete_agent', { agent: d.agent });
  });
});
