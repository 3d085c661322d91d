import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/audit/logger.js';
import { AgentWatch } from '../../src/claude/watch.js';
import { defaultConfig, type Config } from '../../src/config.js';
import { jsonCodec, StateStore } from '../../src/store/state-store.js';
import type { AgentRecord, State } from '../../src/store/types.js';
import type { TabHandle, TabInfo, TabLaunch, TerminalBackend, TerminalKey } from '../../src/terminals/backend.js';
import type { Services } from '../../src/supervisor/context.js';
import { deliver } from '../../src/supervisor/delivery.js';
import { AgentObserver } from '../../src/supervisor/observer.js';
import { Owner } from '../../src/supervisor/owner.js';
import { Supervisor } from '../../src/supervisor/supervisor.js';
import { agentRecord } from '../support/records.js';

const base = mkdtempSync(join(tmpdir(), 'tabcrew-races-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const screen = (name: string): string => readFileSync(join(import.meta.dirname, '../fixtures/screens', name), 'utf8');

let n = 0;
function dirs(): { state: string; runtime: string; root: string } {
  const d = join(base, `case-${++n}`);
  const out = { state: join(d, 'state'), runtime: join(d, 'runtime'), root: join(d, 'app') };
  for (const p of Object.values(out)) mkdirSync(p, { recursive: true });
  return out;
}

/** A terminal that keeps its tabs in memory; `gate` holds createTab until released. */
function fakeTerminal(opts: { screens?: () => string; gate?: Promise<void> } = {}) {
  const tabs: TabInfo[] = [];
  const closed: string[] = [];
  const keys: TerminalKey[] = [];
  const pastes: string[] = [];
  let next = 1;
  const backend: TerminalBackend = {
    name: 'tmux',
    calls: 0,
    async createTab(l: TabLaunch): Promise<TabHandle> {
      await opts.gate;
      const tab: TabInfo = { backend: 'tmux', id: `@${next++}`, tag: l.tag, group: l.group, title: l.title, alive: true };
      tabs.push(tab);
      return tab;
    },
    paste: async (_t, text) => void pastes.push(text),
    sendKeys: async (_t, k) => void keys.push(...k),
    readScreen: async () => opts.screens?.() ?? '',
    readScreens: async () => new Map(),
    listTabs: async () => tabs.filter((t) => !closed.includes(t.id)),
    closeTab: async (t) => void closed.push(t.id),
    dispose: async () => undefined,
  };
  return { backend, tabs, closed, keys, pastes };
}

function config(d: ReturnType<typeof dirs>, extra: Partial<Config> = {}): Config {
  return {
    ...defaultConfig(),
    stateDir: d.state,
    runtimeDir: d.runtime,
    logDir: d.state,
    claudePath: process.execPath,
    startTimeoutS: 1,
    sandbox: 'off',
    ...extra,
  }; // the real HOME: no sandbox, which would make ~/.claude.json for itself
}

const tabbedAgent = (extra: Partial<AgentRecord>): AgentRecord =>
  agentRecord({
    claudeSessionId: '11111111-1111-4111-8111-111111111111',
    since: new Date().toISOString(),
    tab: { backend: 'tmux', id: '@1' },
    createdAt: '',
    ...extra,
  });

async function seeded(d: ReturnType<typeof dirs>, agents: AgentRecord[]): Promise<StateStore> {
  const store = new StateStore(d.state, jsonCodec);
  await store.update((s: State) => {
    s.sessions.push({ id: 's-1', name: 'app', root: d.root, createdAt: '' });
    s.agents.push(...agents);
    s.nextAgentNumber = agents.length + 1;
  });
  return store;
}

describe('races between tool calls and between tabcrew processes', () => {
  it('delete_session by another tabcrew while create_agent is opening the tab leaves no tab and no agent', async () => {
    const d = dirs();
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const a = fakeTerminal({ gate });
    // Two supervisors with stores of their own on one state dir: two processes, as far as the state can tell.
    const first = new Supervisor({ config: config(d), store: new StateStore(d.state, jsonCodec), backend: a.backend, log: silentLogger, env: process.env });
    const second = new Supervisor({ config: config(d), store: new StateStore(d.state, jsonCodec), backend: a.backend, log: silentLogger, env: process.env });
    await first.createSession({ root: d.root, name: 'app' });
    const creating = first.createAgent({ session: 'app' });
    await new Promise((r) => setTimeout(r, 200));
    await second.deleteSession('app');
    open();
    await expect(creating).rejects.toThrow(/deleted while it started/);
    expect(a.tabs.map((t) => t.id).filter((id) => !a.closed.includes(id))).toEqual([]);
    const state = await new StateStore(d.state, jsonCodec).read();
    expect(state.sessions).toEqual([]);
    expect(state.agents).toEqual([]);
  });

  it('recovery planned while this server is inside create_agent does not launch the agent a second time', async () => {
    const d = dirs();
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const term = fakeTerminal({ gate });
    const sup = new Supervisor({ config: config(d), store: new StateStore(d.state, jsonCodec), backend: term.backend, log: silentLogger, env: process.env });
    await sup.createSession({ root: d.root, name: 'app' });
    const creating = sup.createAgent({ session: 'app' });
    await new Promise((r) => setTimeout(r, 200));
    const recovering = sup.recover();
    await new Promise((r) => setTimeout(r, 200));
    open();
    await creating;
    const report = await recovering;
    expect(term.tabs).toHaveLength(1);
    expect(report.recovered).toEqual([]);
  });

  it('create_agent in a session that is being deleted is refused and reserves nothing', async () => {
    const d = dirs();
    const store = await seeded(d, []);
    await store.update((s) => void (s.sessions[0]!.deleting = true));
    const sup = new Supervisor({ config: config(d), store, backend: fakeTerminal().backend, log: silentLogger, env: process.env });
    await expect(sup.createAgent({ session: 'app' })).rejects.toThrow(/is being deleted; nothing was created/);
    expect((await store.read()).agents).toEqual([]);
  });

  it('a status change that lost the race to another writer is neither announced nor audited', async () => {
    const d = dirs();
    const store = await seeded(d, [tabbedAgent({ status: 'busy' })]);
    const stale = (await store.read()).agents;
    // Meanwhile another call (or process) changed the record.
    await store.update((s) => void (s.agents[0]!.status = 'exited'));
    const audited: unknown[] = [];
    const observer = new AgentObserver({
      store,
      backend: fakeTerminal().backend,
      log: silentLogger,
      runtimeDir: d.runtime,
      env: {},
      audit: { append: async (e) => void audited.push(e) as never },
    });
    const heard: unknown[] = [];
    observer.onChange((c) => heard.push(c));
    const live = await observer.observe((await store.read()).sessions[0]!, stale);
    expect(live.get('Agent_1')?.status).toBe('detached');
    expect(heard).toEqual([]);
    expect(audited).toEqual([]);
    expect((await store.read()).agents[0]!.status).toBe('exited');
  });

  it("a refused delivery does not use up the agent's rate-limit budget", async () => {
    const d = dirs();
    const store = await seeded(d, [tabbedAgent({ status: 'cleared', claudeSessionId: null, tab: null })]);
    const sup = new Supervisor({
      config: config(d, { rateLimitBurst: 1, rateLimitPerMinute: 1 }),
      store,
      backend: fakeTerminal().backend,
      log: silentLogger,
      env: process.env,
    });
    for (let i = 0; i < 3; i++) {
      await expect(sup.sendMessage('Agent_1', { message: 'hello' })).rejects.toThrow(/no running conversation/);
    }
  });

  it('the second Enter of a delivery is never pressed into a permission dialog that opened after the first', async () => {
    const d = dirs();
    const store = await seeded(d, [tabbedAgent({})]);
    let typed = false;
    const term = fakeTerminal({
      screens: () => (!typed ? screen('idle.txt') : term.keys.length ? screen('permission_prompt_bash.txt') : screen('idle_text_pasted.txt')),
    });
    const origPaste = term.backend.paste;
    term.backend.paste = async (t, text) => {
      typed = true;
      await origPaste(t, text);
    };
    const tab: TabInfo = { backend: 'tmux', id: '@1', tag: null, group: 's-1', title: 'Agent_1', alive: true };
    const spool = join(d.runtime, 'events.jsonl');
    writeFileSync(spool, '');
    const watch = new AgentWatch('11111111-1111-4111-8111-111111111111', spool, d.root, d.root);
    const ctx = {
      config: config(d),
      store,
      backend: term.backend,
      log: silentLogger,
      env: {},
      owner: new Owner(),
      observer: { observeOne: async () => ({ status: 'idle', source: 'hook', tab }) },
    } as unknown as Services;
    const result = await deliver(ctx, {
      agent: 'Agent_1',
      sessionName: 'app',
      watch,
      message: 'Say hello please',
      prependProtocol: false,
      waitForReply: false,
      timeoutS: 5,
      idleWaitS: 5,
    });
    expect(result.delivered).toBe('unknown');
    expect(term.pastes).toEqual(['Say hello please']);
    expect(term.keys).toEqual(['Enter']);
  });
});
