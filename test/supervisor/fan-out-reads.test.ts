import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/audit/logger.js';
import { defaultConfig } from '../../src/config.js';
import { jsonCodec, StateStore } from '../../src/store/state-store.js';
import type { AgentRecord } from '../../src/store/types.js';
import type { TerminalBackend } from '../../src/terminals/backend.js';
import { Supervisor } from '../../src/supervisor/supervisor.js';

/**
 * Each read of the state is a copy of all of it (every agent's record), and a fan-out's steps
 * all read at once: at 64 agents the copies were the supervisor's largest CPU cost after its
 * terminal processes. A step reads the state only where it must.
 */
const base = mkdtempSync(join(tmpdir(), 'tabcrew-fan-out-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

const terminal: TerminalBackend = {
  name: 'tmux',
  calls: 0,
  createTab: () => Promise.reject(new Error('not used')),
  paste: async () => undefined,
  sendKeys: async () => undefined,
  readScreen: async () => '',
  readScreens: async () => new Map(),
  listTabs: async () => [],
  closeTab: async () => undefined,
  dispose: async () => undefined,
};

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

describe('a parallel fan-out', () => {
  it('reads the whole state about once per step, not once per check', async () => {
    const d = join(base, 'a');
    for (const p of ['state', 'runtime', 'app']) mkdirSync(join(d, p), { recursive: true });
    const store = new StateStore(join(d, 'state'), jsonCodec);
    const n = 8;
    await store.update((s) => {
      s.sessions.push({ id: 's-1', name: 'app', root: join(d, 'app'), createdAt: '' });
      s.agents.push(...Array.from({ length: n }, (_, i) => cleared(i + 1)));
      s.nextAgentNumber = n + 1;
    });
    const config = { ...defaultConfig(), stateDir: join(d, 'state'), runtimeDir: join(d, 'runtime'), logDir: join(d, 'state'), sandbox: 'off' as const };
    const sup = new Supervisor({ config, store, backend: terminal, log: silentLogger, env: process.env });
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
    const d = join(base, 'b');
    for (const p of ['state', 'runtime', 'app']) mkdirSync(join(d, p), { recursive: true });
    const store = new StateStore(join(d, 'state'), jsonCodec);
    const n = 8;
    await store.update((s) => {
      s.sessions.push({ id: 's-1', name: 'app', root: join(d, 'app'), createdAt: '' });
      s.agents.push(...Array.from({ length: n }, (_, i) => cleared(i + 1)));
      s.nextAgentNumber = n + 1;
    });
    const config = { ...defaultConfig(), stateDir: join(d, 'state'), runtimeDir: join(d, 'runtime'), logDir: join(d, 'state'), sandbox: 'off' as const };
    const sup = new Supervisor({ config, store, backend: terminal, log: silentLogger, env: process.env });
    const before = (await store.read()).generation;
    const agents = Array.from({ length: n }, (_, i) => `Agent_${i + 1}`);
    const run = await sup.coordinate({ session: 'app', mode: 'parallel', task: 'one line each', agents, timeout_s: 30 });
    expect(run.state).toBe('failed');
    // The run's record, its steps "sending" (together), their outcomes with the run's end (together).
    expect((await store.read()).generation - before).toBeLessThanOrEqual(3);
  });
});
