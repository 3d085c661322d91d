import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/audit/logger.js';
import { defaultConfig } from '../../src/config.js';
import { jsonCodec, StateStore } from '../../src/store/state-store.js';
import type { AgentRecord } from '../../src/store/types.js';
import type { AgentLifecycle } from '../../src/supervisor/agents.js';
import { Supervisor } from '../../src/supervisor/supervisor.js';
import { quietTerminal } from '../support/quiet-terminal.js';

/**
 * Each read of the state is a copy of all of it (every agent's record), and a fan-out's steps
 * all read at once: at 64 agents the copies were the supervisor's largest CPU cost after its
 * terminal processes. A step reads the state only where it must.
 */
const base = mkdtempSync(join(tmpdir(), 'tabcrew-fan-out-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

const terminal = quietTerminal();

const cleared = (i: number): AgentRecord => ({
  name: `Agent_${i}`,
  sessionId: 's-1',
  launch: {},
  claudeSessionId: null,
  pastClaudeSessionIds: [],
  status: 'cleared',
  statusSource: 'supervisor',
  since: new Date().toISOString(),
  tab: null,
  createdAt: '',
});

/** A session "app" of `n` cleared agents (no conversation) on a JSON state in `base/<dir>`, and its supervisor. */
async function world(dir: string, n: number): Promise<{ d: string; store: StateStore; sup: Supervisor }> {
  const d = join(base, dir);
  for (const p of ['state', 'runtime', 'app']) mkdirSync(join(d, p), { recursive: true });
  const store = new StateStore(join(d, 'state'), jsonCodec);
  await store.update((s) => {
    s.sessions.push({ id: 's-1', name: 'app', root: join(d, 'app'), createdAt: '' });
    s.agents.push(...Array.from({ length: n }, (_, i) => cleared(i + 1)));
    s.nextAgentNumber = n + 1;
  });
  const config = { ...defaultConfig(), stateDir: join(d, 'state'), runtimeDir: join(d, 'runtime'), logDir: join(d, 'state'), sandbox: 'off' as const };
  return { d, store, sup: new Supervisor({ config, store, backend: terminal, log: silentLogger, env: process.env }) };
}

describe('a parallel fan-out', () => {
  it('reads the whole state about once per step, not once per check', async () => {
    const n = 8;
    const { store, sup } = await world('a', n);
    let reads = 0;
    const read = store.read.bind(store);
    store.read = () => (reads++, read());
    const agents = Array.from({ length: n }, (_, i) => `Agent_${i + 1}`);
    const run = await sup.coordinate({ session: 'app', mode: 'parallel', task: 'one line each', agents, timeout_s: 30 });
    // Every step fails alike (no conversation to type into): the run went through each step's admission and lock.
    expect(run.results.map((r) => r.status)).toEqual(agents.map(() => 'failed'));
    expect(run.results[0]!.error).toMatch(/no running conversation/);
    // The steps share the run's one read (admission, and the records for typing while no verb took
    // the agent's lock): the run's start, its driving and its answer read; no step copies the state.
    expect(reads).toBeLessThanOrEqual(4);
  });

  it('saves its steps together and ends in the save of its last outcome, not in one more', async () => {
    const n = 8;
    const { store, sup } = await world('b', n);
    const before = (await store.read()).generation;
    const agents = Array.from({ length: n }, (_, i) => `Agent_${i + 1}`);
    const run = await sup.coordinate({ session: 'app', mode: 'parallel', task: 'one line each', agents, timeout_s: 30 });
    expect(run.state).toBe('failed');
    // The run's record with its steps "sending", their outcomes with the run's end (together).
    expect((await store.read()).generation - before).toBeLessThanOrEqual(3);
  });

  it('saves the outcomes that come one after another with the run’s end, in one save', async () => {
    const n = 5;
    const { store, sup } = await world('e', n);
    const lifecycle = (sup as unknown as { p: { agents: AgentLifecycle } }).p.agents;
    const send = lifecycle.sendMessage.bind(lifecycle);
    // Each step's outcome comes 40 ms after the one before, as a fan-out's replies do.
    lifecycle.sendMessage = async (name, input, progress, read) => {
      await new Promise((r) => setTimeout(r, 40 * Number(name.split('_')[1])));
      return send(name, input, progress, read);
    };
    const before = (await store.read()).generation;
    const agents = Array.from({ length: n }, (_, i) => `Agent_${i + 1}`);
    const run = await sup.coordinate({ session: 'app', mode: 'parallel', task: 'one line each', agents, timeout_s: 30 });
    expect(run.results.map((r) => r.status)).toEqual(agents.map(() => 'failed'));
    // The run's record, then its end with every outcome: not one save per outcome before it.
    expect((await store.read()).generation - before).toBe(2);
  });

  it('has each step "sending" with its delivery id on disk before its message goes out, from the record’s one save', async () => {
    const n = 4;
    const { d, store, sup } = await world('d', n);
    const lifecycle = (sup as unknown as { p: { agents: AgentLifecycle } }).p.agents;
    const send = lifecycle.sendMessage.bind(lifecycle);
    // What the next tabcrew would find on disk if this one died as the message went out.
    const seen: { status: string; ours: boolean; saves: number }[] = [];
    const next = new StateStore(join(d, 'state'), jsonCodec);
    await next.init();
    const before = (await store.read()).generation;
    lifecycle.sendMessage = async (name, input, progress, read) => {
      const state = await next.read();
      const step = state.runs![0]!.steps.find((s) => s.agent === name)!;
      seen.push({ status: step.status, ours: step.deliveryId !== undefined && step.deliveryId === input.delivery_id, saves: state.generation - before });
      return send(name, input, progress, read);
    };
    const agents = Array.from({ length: n }, (_, i) => `Agent_${i + 1}`);
    const run = await sup.coordinate({ session: 'app', mode: 'parallel', task: 'one line each', agents, timeout_s: 30 });
    expect(run.state).toBe('failed');
    // The run's record, its steps already "sending", was the one save before the messages went out.
    expect(seen).toEqual(agents.map(() => ({ status: 'sending', ours: true, saves: 1 })));
  });
});

describe('a message given its caller’s read of the state', () => {
  it('uses that read while no verb took the agent’s lock since, and reads again once one did', async () => {
    const { store, sup } = await world('c', 2);
    const lifecycle = (sup as unknown as { p: { agents: AgentLifecycle } }).p.agents;
    const stamps = [lifecycle.lockStamp('Agent_1'), lifecycle.lockStamp('Agent_2')];
    const state = await store.read();
    let reads = 0;
    const read = store.read.bind(store);
    store.read = () => (reads++, read());
    // Nothing took Agent_2's lock: its records in the caller's read serve (no copy of the state).
    await expect(lifecycle.sendMessage('Agent_2', { message: 'hi' }, undefined, { state, stamp: stamps[1]! })).rejects.toThrow(/no running conversation/);
    expect(reads).toBe(0);
    // A verb under Agent_1's lock paused it after the caller's read: the message reads again and is refused, as it would be alone.
    await lifecycle.withLock('Agent_1', () =>
      store.update((s) => {
        s.agents.find((a) => a.name === 'Agent_1')!.hold = { reason: 'budget', limit: 'max_cost_usd', value: 1, used: 2, at: new Date().toISOString() };
      }),
    );
    await expect(lifecycle.sendMessage('Agent_1', { message: 'hi' }, undefined, { state, stamp: stamps[0]! })).rejects.toThrow(/Agent_1 is paused/);
  });
});
