import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tail } from '../../src/audit/audit-log.js';
import { claudeBin, makeClaudeHome } from '../support/claude-home.js';
import { mockedHome, tearDown } from '../support/e2e-world.js';
import { isConversationRequest, sessionIdOf, startMockAnthropic, type MockAnthropic, type RecordedRequest } from '../support/mock-anthropic.js';
import { startTabcrew, type Crew } from '../support/tabcrew.js';
import { until } from '../support/until.js';

/**
 * Idle agents are put to sleep (--hibernate-after): their Claude Code stops, the next
 * message wakes them in their conversation, and a restarted tabcrew leaves them asleep.
 * With --notify a person hears about an agent that needs them (a stand-in notify-send).
 */
const base = realpathSync(mkdtempSync(join(tmpdir(), 'tabcrew-hibernate-')));
const root = join(base, 'app');
const bin = join(base, 'bin');
const notifyLog = join(base, 'notify.log');
let mock: MockAnthropic;
let home: ReturnType<typeof makeClaudeHome>;
let crew: Crew;
let env: Record<string, string>;
const args = ['--claude-path', claudeBin, '--hibernate-after', '6s', '--notify'];

const text = (req: RecordedRequest): string => mock.lastUserText(req) ?? '';

const statusOf = async (agent: string): Promise<any> => (await crew.ok('get_session_status', { session: 'app' })).agents.find((a: any) => a.agent === agent);
const hasWindow = (agent: string): boolean => crew.windows().includes(agent);

beforeAll(async () => {
  mkdirSync(root);
  mkdirSync(bin);
  // A stand-in notify-send: records its arguments, one per line.
  writeFileSync(join(bin, 'notify-send'), `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a" >> '${notifyLog}'; done\n`);
  chmodSync(join(bin, 'notify-send'), 0o755);
  mock = await startMockAnthropic({
    reply: (req) => ({ text: `Noted: ${text(req).split('\n').pop()}`, usage: { input_tokens: 10_000, output_tokens: 5_000 } }),
  });
  home = mockedHome(mock, [base]);
  env = { ...home.env, PATH: `${bin}:${home.env.PATH}` };
  crew = await startTabcrew({ env, args });
  await crew.ok('create_session', { root, name: 'app' });
}, 120_000);

afterAll(() => tearDown([crew], mock, home, base));

describe('hibernation and notifications', () => {
  it('an idle agent hibernates, and the next message wakes it with its conversation', async () => {
    const a = await crew.ok('create_agent', { session: 'app' });
    await crew.ok('send_message_to_agent', { agent: a.agent, message: 'remember the fruit plum', wait_for_reply: true });
    const asleep = await until('the agent hibernated', async () => {
      const s = await statusOf(a.agent);
      return s.status === 'hibernated' && !hasWindow(a.agent) ? s : undefined;
    });
    expect(asleep.health.health).toBe('ok');
    // The audit record follows the closed tab (agents.ts hibernateAgent): a status can see the tab gone first.
    const slept = await until('the hibernation audited', async () => {
      const l = await tail(crew.dirs.logs, { type: 'hibernation', agent: a.agent, limit: 1 });
      return l.length ? l : undefined;
    });
    expect(slept).toEqual([expect.objectContaining({ action: 'sleep' })]);

    const r = await crew.ok('send_message_to_agent', { agent: a.agent, message: 'which fruit was it?', wait_for_reply: true });
    expect(r).toMatchObject({ delivered: 'confirmed', reply: 'Noted: which fruit was it?' });
    const req = await mock.waitFor((q) => isConversationRequest(q) && text(q).includes('which fruit was it?'), 30_000);
    expect(sessionIdOf(req)).toBe(a.claude_session_id);
    expect(JSON.stringify(req.body.messages)).toContain('remember the fruit plum');
    expect((await statusOf(a.agent)).claude_session_id).toBe(a.claude_session_id);
  });

  it('a paused agent is a desktop notification too, with the agent, the reason and what to do', async () => {
    const b = await crew.ok('create_agent', { session: 'app', max_tokens: 1000 });
    await crew.ok('send_message_to_agent', { agent: b.agent, message: 'a costly one', wait_for_reply: true });
    await until('the agent paused', async () => ((await statusOf(b.agent)).status === 'paused' ? true : undefined));
    const lines = await until('a notification', async () => {
      const l = existsSync(notifyLog) ? readFileSync(notifyLog, 'utf8') : '';
      return l.includes(`${b.agent} needs you (budget)`) ? l : undefined;
    });
    expect(lines).toMatch(new RegExp(`${b.agent} is paused: its tokens reached max_tokens \\(1000; used \\d+\\).*resume_agent`));
    // Paused is not idle: it does not hibernate.
    await new Promise((r) => setTimeout(r, 9000));
    expect((await statusOf(b.agent)).status).toBe('paused');
    await crew.ok('delete_agent', { agent: b.agent });
  });

  it('a restarted tabcrew leaves hibernated agents asleep, and wake_agent wakes one', async () => {
    const c = await crew.ok('create_agent', { session: 'app' });
    await until('both agents hibernated', async () => {
      const s = (await crew.ok('get_session_status', { session: 'app' })).agents;
      return s.every((a: any) => a.status === 'hibernated') ? true : undefined;
    });
    const { dirs, socket } = crew;
    await crew.disconnect();
    crew = await startTabcrew({ env, args: [...args.filter((x) => x !== '6s' && x !== '--hibernate-after')], dirs, socket });
    // Recovery runs at start; give it a moment, then nothing has been relaunched.
    await new Promise((r) => setTimeout(r, 3000));
    const after = (await crew.ok('get_session_status', { session: 'app' })).agents;
    expect(after.map((a: any) => a.status)).toEqual(['hibernated', 'hibernated']);
    expect(crew.windows()).toEqual([]);
    expect(await crew.ok('wake_agent', { agent: c.agent })).toMatchObject({
      agent: c.agent,
      status: 'idle',
      woke: true,
      claude_session_id: c.claude_session_id,
    });
    expect(hasWindow(c.agent)).toBe(true);
  });
});
