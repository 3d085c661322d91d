import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { HookRecord } from '../../src/claude/hook-record.js';
import { emptyState, type AccountLimit, type State } from '../../src/store/types.js';
import { LimitError } from '../../src/supervisor/errors.js';
import { CONTINUE_MESSAGE, LimitResumer } from '../../src/supervisor/limit-resume.js';
import { Limits, MAX_BACKOFF_MS, nextResume } from '../../src/supervisor/limits.js';
import type { Notice } from '../../src/supervisor/notices.js';
import { agentRecord } from '../support/records.js';

const dir = mkdtempSync(join(tmpdir(), 'tabcrew-limits-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined } as never;

/** A state store in memory: what the owners under test read and change. */
function memoryStore(state: State) {
  return {
    state,
    read: async () => structuredClone(state),
    update: async <T>(fn: (s: State) => T) => fn(state),
    updateBatched: async <T>(fn: (s: State) => T) => fn(state),
  };
}

const T0 = Date.parse('2026-12-06T07:00:00Z');
const failure = (ts: number, error = 'rate_limit'): HookRecord => ({ ts, event: 'StopFailure', session_id: 'c-1', error });

/** A crew of idle agents whose latest turn failed as `records` say, with the transcript `transcript`. */
function crew(names: string[], transcript: string, records: HookRecord[]) {
  const state = emptyState();
  state.sessions.push({ id: 's-1', name: 'app', root: dir, createdAt: new Date(T0).toISOString() } as never);
  for (const name of names) state.agents.push(agentRecord({ name }));
  const path = join(dir, `t-${names.join('-')}.jsonl`);
  writeFileSync(path, transcript);
  const store = memoryStore(state);
  const notices: Notice[] = [];
  const observer = { watch: () => ({ claudeSessionId: 'c-1', spool: { records }, transcriptPath: () => path }) };
  const limits = new Limits({
    store: store as never,
    log: quiet,
    env: { CLAUDE_CODE_OAUTH_TOKEN: 'sk-ant-oat01-x' },
    observer: observer as never,
    config: { limitBackoffMs: 60_000 },
    notices: { tell: (n) => notices.push(n) },
    random: () => 0,
  });
  return { state, store, limits, notices, session: state.sessions[0] };
}

const usageLine = (resetsAtS: number) =>
  JSON.stringify({
    type: 'assistant',
    isApiErrorMessage: true,
    error: 'rate_limit',
    apiError: 'usage_limit_reached',
    apiErrorParams: { rate_limit_info: { status: 'rejected', resetsAt: resetsAtS, rateLimitType: 'five_hour' } },
    message: { role: 'assistant', model: '<synthetic>', content: [{ type: 'text', text: "You've hit your 5-hour limit" }] },
  }) + '\n';
const live = { status: 'idle' as const, source: 'hook' as const };

describe('the limit state machine', () => {
  it('a usage limit pauses the agent until the exact reset, limits the account, and tells a person once', async () => {
    const reset = T0 / 1000 + 70;
    const c = crew(['Agent_1', 'Agent_2'], usageLine(reset), [failure(T0)]);
    for (const a of c.state.agents) await c.limits.checkAgent(structuredClone(a), c.session, live, T0 + 1000);
    expect(c.state.agents.map((a) => a.usageLimit)).toEqual([
      expect.objectContaining({ kind: 'usage_limit', paused: true, resumesAt: new Date(reset * 1000).toISOString(), failureTs: T0 }),
      expect.objectContaining({ kind: 'usage_limit', paused: true }),
    ]);
    expect(c.notices).toEqual([
      expect.objectContaining({ reason: 'usage_limit', agent: 'Agent_1', message: expect.stringContaining('2026-12-06T07:01:10.000Z') }),
    ]);
    expect(c.limits.view(c.state)).toEqual([
      {
        account: c.limits.account.id,
        state: 'limited',
        kind: 'usage_limit',
        resumes_at: '2026-12-06T07:01:10.000Z',
        agents_paused: ['Agent_1', 'Agent_2'],
        queued: 0,
      },
    ]);
    // The same failure is never taken twice.
    c.state.agents[0].usageLimit!.paused = false;
    await c.limits.checkAgent(structuredClone(c.state.agents[0]), c.session, live, T0 + 5000);
    expect(c.state.agents[0].usageLimit!.paused).toBe(false);
  });

  it('other failures, and a busy agent, pause nothing', async () => {
    const c = crew(['Agent_1'], usageLine(T0 / 1000 + 70), [failure(T0, 'server_error')]);
    await c.limits.checkAgent(c.state.agents[0], c.session, live, T0);
    const d = crew(['Agent_1'], usageLine(T0 / 1000 + 70), [failure(T0)]);
    await d.limits.checkAgent(d.state.agents[0], d.session, { ...live, status: 'busy' }, T0);
    expect([c.state.agents[0].usageLimit, d.state.agents[0].usageLimit]).toEqual([undefined, undefined]);
  });

  it("a plain 429 backs off by tabcrew's own clock, doubling for each one in a row, at most an hour", () => {
    const hit = { kind: 'rate_limit' as const };
    expect(nextResume(hit, undefined, 60_000, T0)).toEqual({ resumesAt: T0 + 60_000, strikes: 0 });
    const cleared: AccountLimit = {
      account: 'a',
      kind: 'rate_limit',
      state: 'clear',
      resumesAt: '',
      since: '',
      strikes: 2,
      clearedAt: new Date(T0).toISOString(),
    };
    expect(nextResume(hit, cleared, 60_000, T0 + 1000)).toEqual({ resumesAt: T0 + 1000 + 8 * 60_000, strikes: 3 });
    expect(nextResume(hit, cleared, 60_000, T0 + 60 * 60_000).strikes).toBe(0);
    expect(nextResume(hit, { ...cleared, strikes: 20 }, 60_000, T0).resumesAt).toBe(T0 + MAX_BACKOFF_MS);
    // Several agents refused in one episode are one strike.
    const open = { ...cleared, state: 'limited' as const, resumesAt: new Date(T0 + 5000).toISOString(), strikes: 1 };
    expect(nextResume(hit, open, 60_000, T0)).toEqual({ resumesAt: T0 + 5000, strikes: 1 });
  });

  it('while limited, a start or a message is refused with the reset time; queue: true queues it', async () => {
    const c = crew(['Agent_1'], usageLine(Date.now() / 1000 + 3600), [failure(Date.now())]);
    await c.limits.checkAgent(c.state.agents[0], c.session, live);
    await expect(c.limits.refuse('create')).rejects.toThrow(LimitError);
    await expect(c.limits.refuse('create')).rejects.toThrow(/usage limit until \d{4}-\d\d-\d\dT[\d:.]+Z \(in (59 min|1 h).*nothing was started.*queue: true/);
    await expect(c.limits.refuse('send', 'Agent_1')).rejects.toThrow(/Agent_1 is paused by an API limit.*nothing was typed/);
    const q = await c.limits.enqueue({ kind: 'message', agent: 'Agent_1', message: 'the pending one' });
    expect(q).toMatchObject({ queued: true, queue_id: expect.stringMatching(/^q-/) });
    await expect(c.limits.enqueue({ kind: 'message', agent: 'Agent_9', message: 'x' })).rejects.toThrow(/no agent named "Agent_9"/);
    expect(c.limits.view(c.state)[0].queued).toBe(1);
  });

  it('a coordination step follows the turn that resumed its agent', async () => {
    const c = crew(['Agent_1'], usageLine(T0 / 1000 + 70), [failure(T0)]);
    expect(await c.limits.resumeOf('Agent_1', T0, T0 + 1000)).toBe(''); // not paused yet: wait
    expect(await c.limits.resumeOf('Agent_1', T0, T0 + 60_000)).toBeUndefined(); // never paused: it simply failed
    await c.limits.checkAgent(c.state.agents[0], c.session, live, T0 + 1000);
    expect(await c.limits.resumeOf('Agent_1', T0)).toBe('');
    Object.assign(c.state.agents[0].usageLimit!, { paused: false, resumeDelivery: 'd-resumed' });
    expect(await c.limits.resumeOf('Agent_1', T0)).toBe('d-resumed');
  });
});

describe('resuming after the reset', () => {
  function resumer(c: ReturnType<typeof crew>, concurrency: number) {
    const sent: { agent: string; message: string; at: number }[] = [];
    const created: unknown[] = [];
    let running = 0;
    let most = 0;
    const agents = {
      sendMessage: async (agent: string, input: { message: string }) => {
        most = Math.max(most, ++running);
        sent.push({ agent, message: input.message, at: Date.now() });
        await new Promise((r) => setTimeout(r, 20));
        running--;
        return { agent, delivery_id: 'd', delivered: 'confirmed' as const, status: 'busy' as const };
      },
      createAgent: async (input: unknown) => {
        created.push(input);
        return { agent: 'Agent_9', session_id: 's-1' } as never;
      },
    };
    const r = new LimitResumer({ store: c.store as never, log: quiet, limits: c.limits, agents: () => agents as never, concurrency });
    return { r, sent, created, most: () => most };
  }

  it('waits for the reset plus jitter, then resumes each paused agent (the queued message first, else "continue") a few at a time', async () => {
    const names = ['Agent_1', 'Agent_2', 'Agent_3', 'Agent_4', 'Agent_5'];
    const c = crew(names, usageLine(T0 / 1000 + 70), [failure(T0)]);
    for (const a of c.state.agents) await c.limits.checkAgent(structuredClone(a), c.session, live, T0 + 1000);
    c.state.limitQueue = [
      { id: 'q-1', account: c.limits.account.id, at: '', kind: 'message', agent: 'Agent_2', message: 'the pending one' },
      { id: 'q-2', account: c.limits.account.id, at: '', kind: 'create', input: { session: 's-1' } },
    ];
    const { r, sent, created, most } = resumer(c, 2);
    r.tick(T0 + 70_000); // the reset, but not the jitter (1 s at least)
    await r.settled();
    expect(sent).toEqual([]);
    r.tick(T0 + 71_000);
    await r.settled();
    expect(sent.map((s) => [s.agent, s.message]).sort()).toEqual([
      ['Agent_1', CONTINUE_MESSAGE],
      ['Agent_2', 'the pending one'],
      ['Agent_3', CONTINUE_MESSAGE],
      ['Agent_4', CONTINUE_MESSAGE],
      ['Agent_5', CONTINUE_MESSAGE],
    ]);
    expect(most()).toBeLessThanOrEqual(2);
    expect(created).toEqual([{ session: 's-1' }]);
    expect(c.state.limitQueue).toEqual([]);
    expect(c.state.agents.every((a) => a.usageLimit?.paused === false && a.usageLimit.resumeDelivery)).toBe(true);
    expect(c.limits.view(c.state)[0]).toMatchObject({ state: 'ok', agents_paused: [] });
    await expect(c.limits.refuse('create')).resolves.toBeUndefined();
  }, 20_000);
});

describe('a turn ended by a limit, as a coordination run sees it', () => {
  it('lookAtTurn says when an API limit ended the turn, and only then', async () => {
    const { lookAtTurn } = await import('../../src/supervisor/turns.js');
    const prompt: HookRecord = { ts: T0, event: 'UserPromptSubmit', session_id: 'c-1', delivery_id: 'd-1' };
    const watchOf = (end: HookRecord) => ({ refresh: async () => undefined, since: () => [prompt, end] }) as never;
    expect(await lookAtTurn(watchOf(failure(T0 + 500)), 'd-1', 'Agent_1')).toMatchObject({ kind: 'failed', limitedAt: T0 + 500 });
    const other = await lookAtTurn(watchOf(failure(T0 + 500, 'server_error')), 'd-1', 'Agent_1');
    expect(other).toMatchObject({ kind: 'failed' });
    expect(other).not.toHaveProperty('limitedAt');
  });
});
