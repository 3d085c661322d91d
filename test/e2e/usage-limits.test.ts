import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTINUE_MESSAGE } from '../../src/supervisor/limit-resume.js';
import { claudeBin } from '../support/claude-home.js';
import { mockedHome, tearDown } from '../support/e2e-world.js';
import { isConversationRequest, sessionIdOf, startMockAnthropic, type MockAnthropic, type RecordedRequest } from '../support/mock-anthropic.js';
import { startTabcrew, type Crew } from '../support/tabcrew.js';
import { until } from '../support/until.js';

/**
 * Usage limits with the real Claude Code against a mock API that answers with the real
 * shapes (docs/claude-code-facts.md, "Usage limits"): a subscription (a long-lived OAuth
 * token) whose usage limit resets ~70 s ahead, and an API key refused with a plain 429 +
 * retry-after. Two crews, one per account, so the 429 path runs while the subscription waits.
 */
const base = realpathSync(mkdtempSync(join(tmpdir(), 'tabcrew-limits-e2e-')));
const root = join(base, 'app');
const OAUTH_TOKEN = `sk-ant-oat01-${'t'.repeat(80)}-test`;
let subMock: MockAnthropic;
let keyMock: MockAnthropic;
let sub: Crew;
let key: Crew;
let homes: ReturnType<typeof mockedHome>[] = [];
const attention: any[] = [];

const text = (req: RecordedRequest): string => subMock.lastUserText(req) ?? '';
const reply = (mock: () => MockAnthropic) => (req: RecordedRequest) => `Noted: ${(mock().lastUserText(req) ?? '').split('\n').pop()}`;
const agentOf = async (crew: Crew, agent: string): Promise<any> =>
  (await crew.ok('get_session_status', { session: 'app' })).agents.find((a: any) => a.agent === agent);
const errorText = (r: { content: unknown }): string => (r.content as { text: string }[]).map((c) => c.text).join('');

/** Seconds since boot at which a process started (/proc/<pid>/stat field 22, in clock ticks). */
const startedAt = (pid: number): number => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[19]) / 100;
/** Wall-clock seconds at boot, to 10 ms (/proc/stat's btime is whole seconds: too coarse to order starts). */
const bootTime = (): number => Date.now() / 1000 - Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);

beforeAll(async () => {
  mkdirSync(root);
  subMock = await startMockAnthropic({ reply: reply(() => subMock) });
  keyMock = await startMockAnthropic({ reply: reply(() => keyMock) });
  const subHome = mockedHome(subMock, [base]);
  const keyHome = mockedHome(keyMock, [base]);
  homes = [subHome, keyHome];
  // Subscription auth: Claude Code reads the usage-limit headers only then (an API key sees a retried 429).
  const { ANTHROPIC_API_KEY: _key, ...subEnv } = subHome.env;
  [sub, key] = await Promise.all([
    startTabcrew({ env: { ...subEnv, CLAUDE_CODE_OAUTH_TOKEN: OAUTH_TOKEN }, args: ['--claude-path', claudeBin, '--max-starting', '2'] }),
    // Claude Code retries a 429 up to 10 times by itself; one retry keeps the test short.
    startTabcrew({ env: { ...keyHome.env, CLAUDE_CODE_MAX_RETRIES: '1' }, args: ['--claude-path', claudeBin, '--limit-backoff', '3s'] }),
  ]);
  sub.client.setNotificationHandler(LoggingMessageNotificationSchema, async (n) => {
    if (n.params.logger === 'tabcrew.attention') attention.push(n.params.data);
  });
  await Promise.all([sub.ok('create_session', { root, name: 'app' }), key.ok('create_session', { root, name: 'app' })]);
}, 120_000);

afterAll(async () => {
  await tearDown([sub, key], subMock, homes[0], base);
  await keyMock?.close();
  homes[1]?.cleanup();
});

describe('usage limits, crew-wide', () => {
  it('starts 5 agents at most 2 at once (--max-starting 2), the others told they wait', async () => {
    const waited: string[] = [];
    const created = await Promise.all(Array.from({ length: 5 }, () => sub.ok('create_agent', { session: 'app' }, (m) => waited.push(m))));
    expect(created.map((c) => c.status)).toEqual(Array(5).fill('idle'));
    expect(waited.filter((m) => /waits to start: \d+ in line, 2 starting \(--max-starting 2\)/.test(m)).length).toBeGreaterThan(0);
    // Each start runs from its process's start to its SessionStart hook: at no moment more than 2.
    const boot = bootTime();
    const spans = sub
      .tmux('list-panes', '-a', '-F', '#{window_name} #{pane_pid}')
      .trim()
      .split('\n')
      .map((l) => {
        const [name, pid] = l.split(' ');
        const agent = created.find((c) => c.agent === name)!;
        const spool = readFileSync(join(sub.dirs.runtime, 'agents', agent.claude_session_id, 'events.jsonl'), 'utf8');
        const ready = JSON.parse(spool.split('\n').find((s) => s.includes('"SessionStart"'))!).ts / 1000;
        return { from: boot + startedAt(Number(pid)), to: ready };
      });
    expect(spans).toHaveLength(5);
    const most = Math.max(...spans.map((s) => spans.filter((o) => o.from <= s.from && s.from < o.to).length));
    expect(most, JSON.stringify(spans)).toBeLessThanOrEqual(2);
  });

  // The subscription waits ~70 s for its reset; the API-key crew's 429 runs meanwhile.
  describe.concurrent('while an account is limited', () => {
    it('a usage limit pauses the agent until its reset; starts and messages are refused or queued; after the reset it goes on by itself', async () => {
      const resetS = Math.floor(Date.now() / 1000) + 70;
      const resetIso = new Date(resetS * 1000).toISOString();
      subMock.setRefusal({ kind: 'usage_limit', resetsAt: resetS });
      const lifted = setTimeout(() => subMock.setRefusal(undefined), resetS * 1000 - Date.now());
      try {
        await sub.ok('send_message_to_agent', { agent: 'Agent_1', message: 'build the parser' });
        const paused = await until('Agent_1 paused by the usage limit', async () => {
          const a = await agentOf(sub, 'Agent_1');
          return a.status === 'paused' ? a : undefined;
        });
        expect(paused).toMatchObject({ pause_reason: 'usage_limit', resumes_at: resetIso });
        const status = await sub.ok('get_session_status', { session: 'app' });
        expect(status.limits).toEqual([expect.objectContaining({ state: 'limited', kind: 'usage_limit', resumes_at: resetIso, agents_paused: ['Agent_1'] })]);
        expect(status.limits[0].account).toMatch(/^acct-[0-9a-f]{12}$/);
        expect(JSON.stringify(status)).not.toContain(OAUTH_TOKEN.slice(13, 40));
        expect(attention).toContainEqual(expect.objectContaining({ reason: 'usage_limit', agent: 'Agent_1' }));

        // No new agent into a dead quota: refused with the reset time, nothing started.
        const windows = sub.windows().length;
        const refused = await sub.call('create_agent', { session: 'app' });
        expect(refused.isError).toBe(true);
        expect(errorText(refused)).toContain(resetIso);
        expect(sub.windows()).toHaveLength(windows);
        expect((await sub.ok('get_session_status', { session: 'app' })).agents).toHaveLength(5);
        // A message is refused the same way, or queued for after the reset.
        const held = await sub.call('send_message_to_agent', { agent: 'Agent_2', message: 'the pending one' });
        expect(errorText(held)).toMatch(new RegExp(`usage limit until ${resetIso.replace(/\./g, '\\.')}.*nothing was typed`));
        expect(await sub.ok('send_message_to_agent', { agent: 'Agent_2', message: 'the pending one', queue: true })).toMatchObject({
          delivered: 'queued',
          resumes_at: resetIso,
        });
        const before = subMock.conversationRequests().length;

        // After the reset: Agent_1 is told to continue, the queued message reaches Agent_2, nothing ran before.
        const agents = status.agents;
        const go = await subMock.waitFor((r) => isConversationRequest(r) && text(r).includes(CONTINUE_MESSAGE), 120_000);
        expect(go.receivedAt).toBeGreaterThanOrEqual(resetS * 1000);
        expect(sessionIdOf(go)).toBe(agents.find((a: any) => a.agent === 'Agent_1').claude_session_id);
        expect(JSON.stringify(go.body.messages)).toContain('build the parser');
        const pending = await subMock.waitFor((r) => isConversationRequest(r) && text(r).includes('the pending one'), 60_000);
        expect(sessionIdOf(pending)).toBe(agents.find((a: any) => a.agent === 'Agent_2').claude_session_id);
        expect(subMock.conversationRequests().slice(before, before + 1)[0]?.receivedAt ?? Infinity).toBeGreaterThanOrEqual(resetS * 1000);
        const after = await until('the account clear again', async () => {
          const s = await sub.ok('get_session_status', { session: 'app' });
          return s.limits[0].state === 'ok' ? s : undefined;
        });
        expect(after.agents.find((a: any) => a.agent === 'Agent_1').pause_reason).toBeUndefined();
      } finally {
        clearTimeout(lifted);
        subMock.setRefusal(undefined);
      }
    }, 200_000);

    it("a plain 429 (API key) pauses the agent by tabcrew's own backoff, then it is resumed", async () => {
      const b = await key.ok('create_agent', { session: 'app' });
      keyMock.setRefusal({ kind: 'rate_limit', retryAfterS: 1 });
      try {
        await key.ok('send_message_to_agent', { agent: b.agent, message: 'write the tests' });
        const paused = await until('the agent paused by the 429', async () => {
          const a = await agentOf(key, b.agent);
          return a.status === 'paused' ? a : undefined;
        });
        expect(paused.pause_reason).toBe('usage_limit');
        expect(Date.parse(paused.resumes_at) - Date.now()).toBeLessThanOrEqual(3000);
        expect((await key.ok('get_session_status', { session: 'app' })).limits[0]).toMatchObject({ state: 'limited', kind: 'rate_limit' });
      } finally {
        keyMock.setRefusal(undefined);
      }
      const go = await keyMock.waitFor((r) => isConversationRequest(r) && (keyMock.lastUserText(r) ?? '').includes(CONTINUE_MESSAGE), 60_000);
      expect(sessionIdOf(go)).toBe(b.claude_session_id);
      await until('the agent no longer paused', async () => ((await agentOf(key, b.agent)).status !== 'paused' ? true : undefined));
    }, 120_000);
  });
});
