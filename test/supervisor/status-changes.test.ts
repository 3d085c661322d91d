import { appendFileSync, mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/audit/logger.js';
import { agentDirFor } from '../../src/claude/launch.js';
import type { HookRecord } from '../../src/claude/hook-record.js';
import { jsonCodec, StateStore } from '../../src/store/state-store.js';
import type { State } from '../../src/store/types.js';
import type { TabInfo, TerminalBackend } from '../../src/terminals/backend.js';
import { AgentObserver, tabTag, type StatusChange } from '../../src/supervisor/observer.js';
import { agentRecord } from '../support/records.js';

/*
 * A status change the hooks report reaches the observer's listeners (the MCP client's
 * "tabcrew.status" log messages, the dashboard, the mail pump) even when no look came while it
 * stood: a short turn begins and ends between two looks of a loaded server.
 */

const base = realpathSync(mkdtempSync(join(tmpdir(), 'tabcrew-status-changes-')));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const CSID = '44444444-4444-4444-8444-444444444444';
let n = 0;

async function world() {
  const d = join(base, `case-${++n}`);
  const runtime = join(d, 'runtime');
  mkdirSync(agentDirFor(runtime, CSID), { recursive: true });
  const spool = join(agentDirFor(runtime, CSID), 'events.jsonl');
  const store = new StateStore(join(d, 'state'), jsonCodec);
  const at = Date.now() - 60_000;
  await store.update((s: State) => {
    s.sessions.push({ id: 's-1', name: 'app', root: d, createdAt: '' });
    s.agents.push(agentRecord({ claudeSessionId: CSID, since: new Date(at).toISOString(), tab: { backend: 'tmux', id: '@1' } }));
  });
  const tab: TabInfo = { backend: 'tmux', id: '@1', tag: tabTag('Agent_1', CSID), group: 's-1', title: 'Agent_1', alive: true };
  const backend = { name: 'tmux', listTabs: async () => [tab], readScreens: async () => new Map() } as unknown as TerminalBackend;
  const audited: unknown[] = [];
  const observer = new AgentObserver({
    store,
    backend,
    log: silentLogger,
    runtimeDir: runtime,
    env: {},
    audit: { append: async (e) => void audited.push(e) as never },
  });
  const heard: Pick<StatusChange, 'from' | 'to' | 'source' | 'passed'>[] = [];
  observer.onChange((c) => heard.push({ from: c.from, to: c.to, source: c.source, ...(c.passed ? { passed: c.passed } : {}) }));
  const hook = (event: string, ts = Date.now()): void => appendFileSync(spool, JSON.stringify({ ts, event, session_id: CSID } satisfies HookRecord) + '\n');
  const look = async () => {
    const state = await store.read();
    return (await observer.observe(state.sessions[0]!, state.agents)).get('Agent_1')!.status;
  };
  hook('SessionStart', at - 1000);
  return { store, heard, audited, hook, look };
}

describe('status changes the observer announces', () => {
  it('a turn that began and ended between two looks is announced as idle → busy → idle, once', async () => {
    const w = await world();
    expect(await w.look()).toBe('idle');
    expect(w.heard).toEqual([]);
    // The whole turn between two looks: the second look finds the agent idle again.
    w.hook('UserPromptSubmit', Date.now() - 200);
    w.hook('Stop', Date.now() - 100);
    expect(await w.look()).toBe('idle');
    expect(w.heard).toEqual([
      { from: 'idle', to: 'busy', source: 'hook', passed: true },
      { from: 'busy', to: 'idle', source: 'hook' },
    ]);
    expect(w.audited).toHaveLength(2);
    // The record now stands from the turn's end, and a later look tells nothing again.
    expect(Date.parse((await w.store.read()).agents[0]!.since)).toBeGreaterThan(Date.now() - 1000);
    expect(await w.look()).toBe('idle');
    expect(w.heard).toHaveLength(2);
  });

  it('a turn that is still running at the second look is announced once, as before (idle → busy), and its end at the next', async () => {
    const w = await world();
    await w.look();
    w.hook('UserPromptSubmit');
    expect(await w.look()).toBe('busy');
    w.hook('Stop');
    expect(await w.look()).toBe('idle');
    expect(w.heard).toEqual([
      { from: 'idle', to: 'busy', source: 'hook' },
      { from: 'busy', to: 'idle', source: 'hook' },
    ]);
  });

  it('a look with no new hook records announces nothing', async () => {
    const w = await world();
    await w.look();
    await w.look();
    expect(w.heard).toEqual([]);
  });
});
