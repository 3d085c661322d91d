import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/audit/logger.js';
import { defaultConfig, type Config } from '../../src/config.js';
import { jsonCodec, StateStore } from '../../src/store/state-store.js';
import type { AgentRecord, State } from '../../src/store/types.js';
import type { TabHandle, TabInfo, TabLaunch, TerminalBackend } from '../../src/terminals/backend.js';
import { Supervisor } from '../../src/supervisor/supervisor.js';

/**
 * Helpers of their own, through the supervisor as the agent-facing MCP server will call it
 * (`{ caller: { agent } }`): the child records its parent, the limits are refused naming
 * their flag, the session tree is shown, and a parent is deleted only with cascade.
 */
const base = mkdtempSync(join(tmpdir(), 'tabcrew-children-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

let n = 0;
function dirs(): { state: string; runtime: string; root: string; other: string } {
  const d = join(base, `case-${++n}`);
  const out = { state: join(d, 'state'), runtime: join(d, 'runtime'), root: join(d, 'app'), other: join(d, 'other') };
  for (const p of Object.values(out)) mkdirSync(p, { recursive: true });
  return out;
}

function fakeTerminal(): TerminalBackend {
  const tabs: TabInfo[] = [];
  let next = 1;
  return {
    name: 'tmux',
    calls: 0,
    async createTab(l: TabLaunch): Promise<TabHandle> {
      const tab: TabInfo = { backend: 'tmux', id: `@${next++}`, tag: l.tag, group: l.group, title: l.title, alive: true };
      tabs.push(tab);
      return tab;
    },
    paste: async () => undefined,
    sendKeys: async () => undefined,
    readScreen: async () => '',
    readScreens: async () => new Map(),
    listTabs: async () => tabs,
    closeTab: async (t) => void tabs.splice(tabs.findIndex((x) => x.id === t.id) >>> 0, 1),
    dispose: async () => undefined,
  };
}

const agent = (name: string, sessionId: string, parent?: string): AgentRecord => ({
  name,
  sessionId,
  launch: {},
  claudeSessionId: null,
  pastClaudeSessionIds: [],
  status: 'cleared',
  statusSource: 'supervisor',
  since: new Date().toISOString(),
  tab: null,
  createdAt: '',
  ...(parent ? { parent } : {}),
});

async function supervisor(agents: AgentRecord[], extra: Partial<Config> = {}): Promise<{ sup: Supervisor; store: StateStore }> {
  const d = dirs();
  const store = new StateStore(d.state, jsonCodec);
  await store.update((s: State) => {
    s.sessions.push({ id: 's-1', name: 'app', root: d.root, createdAt: '' }, { id: 's-2', name: 'other', root: d.other, createdAt: '' });
    s.agents.push(...agents);
    s.nextAgentNumber = agents.length + 1;
  });
  const config: Config = {
    ...defaultConfig(),
    stateDir: d.state,
    runtimeDir: d.runtime,
    logDir: d.state,
    claudePath: process.execPath,
    startTimeoutS: 1,
    // These tests run in the real HOME: no sandbox, which would make ~/.claude.json for itself.
    sandbox: 'off',
    ...extra,
  };
  return { sup: new Supervisor({ config, store, backend: fakeTerminal(), log: silentLogger, env: process.env }), store };
}

describe('agents that start helpers of their own', () => {
  it('a helper spawned by an agent is created in that agent session and records it as its parent', async () => {
    const { sup, store } = await supervisor([agent('Agent_1', 's-1')]);
    const child = await sup.spawnAgent({ role: 'testing_specialist' }, { caller: { agent: 'Agent_1' } });
    expect(child).toMatchObject({ agent: 'Agent_2', session_id: 's-1', parent: 'Agent_1' });
    const rec = (await store.read()).agents.find((a) => a.name === 'Agent_2')!;
    expect(rec.parent).toBe('Agent_1');
    expect(rec.launch).toMatchObject({ role: 'testing_specialist', roleTitle: 'Testing specialist' });
  });

  it("a helper of a read-only role keeps the role's rules in its record, and without the OS sandbox it is told only the rules hold it", async () => {
    const { sup, store } = await supervisor([agent('Agent_1', 's-1')]);
    const child = await sup.spawnAgent({ role: 'code_reviewer' }, { caller: { agent: 'Agent_1' } });
    expect(child.note).toContain('without the OS sandbox');
    const rec = (await store.read()).agents.find((a) => a.name === 'Agent_2')!;
    expect(rec.launch.rolePermissions).toMatchObject({ read_only: true, deny: expect.arrayContaining(['Write', 'Edit', 'Bash(rm *)']) });
    const status = await sup.getSessionStatus('app');
    expect(status.agents.find((a) => a.agent === 'Agent_2')?.role).toMatchObject({ id: 'code_reviewer', read_only: true });
  });

  it('get_session_status shows the tree: each agent with its parent and its children', async () => {
    const { sup } = await supervisor([agent('Agent_1', 's-1'), agent('Agent_2', 's-1', 'Agent_1'), agent('Agent_3', 's-1', 'Agent_2')]);
    const status = await sup.getSessionStatus('app');
    const tree = status.agents.map((a) => [a.agent, a.parent ?? null, a.children ?? []]);
    expect(tree).toEqual([
      ['Agent_1', null, ['Agent_2']],
      ['Agent_2', 'Agent_1', ['Agent_3']],
      ['Agent_3', 'Agent_2', []],
    ]);
  });

  it('a helper beyond --max-depth is refused naming the flag, and nothing is created', async () => {
    const { sup, store } = await supervisor([agent('Agent_1', 's-1'), agent('Agent_2', 's-1', 'Agent_1'), agent('Agent_3', 's-1', 'Agent_2')]);
    await expect(sup.spawnAgent({}, { caller: { agent: 'Agent_3' } })).rejects.toThrow(/--max-depth \(2\)/);
    expect((await store.read()).agents).toHaveLength(3);
  });

  it('a fifth helper of one agent is refused naming --max-children', async () => {
    const kids = [2, 3, 4, 5].map((i) => agent(`Agent_${i}`, 's-1', 'Agent_1'));
    const { sup } = await supervisor([agent('Agent_1', 's-1'), ...kids]);
    await expect(sup.spawnAgent({}, { caller: { agent: 'Agent_1' } })).rejects.toThrow(/--max-children \(4\)/);
  });

  it('helpers count toward --max-agents', async () => {
    const { sup } = await supervisor([agent('Agent_1', 's-1'), agent('Agent_2', 's-1')], { maxAgents: 2 });
    await expect(sup.spawnAgent({}, { caller: { agent: 'Agent_1' } })).rejects.toThrow(/--max-agents \(2\)/);
  });

  it('an agent may not spawn into or coordinate another session', async () => {
    const { sup } = await supervisor([agent('Agent_1', 's-1'), agent('Agent_2', 's-2')]);
    await expect(sup.spawnAgent({ session: 'other' }, { caller: { agent: 'Agent_1' } })).rejects.toThrow(/only within its own session/);
    await expect(sup.coordinate({ session: 'other', mode: 'parallel', task: 'x', agents: ['Agent_2'] }, { caller: { agent: 'Agent_1' } })).rejects.toThrow(
      /only within its own session/,
    );
    await expect(sup.coordinate({ session: 'app', mode: 'parallel', task: 'x', agents: ['Agent_1'] }, { caller: { agent: 'Agent_1' } })).rejects.toThrow(
      /cannot be one of its own run/,
    );
  });

  it('deleting an agent with helpers is refused without cascade, and with cascade deletes them too', async () => {
    const { sup, store } = await supervisor([agent('Agent_1', 's-1'), agent('Agent_2', 's-1', 'Agent_1'), agent('Agent_3', 's-1', 'Agent_2')]);
    await expect(sup.deleteAgent('Agent_1')).rejects.toThrow(/has helpers of its own \(Agent_3, Agent_2\).*cascade: true/);
    expect((await store.read()).agents).toHaveLength(3);
    const r = await sup.deleteAgent('Agent_1', { cascade: true });
    expect(r.children_deleted).toEqual(['Agent_3', 'Agent_2']);
    expect((await store.read()).agents).toEqual([]);
  });

  it('an agent coordinating without a session works in its own, and a pipeline whose first agent cannot take the task stops there', async () => {
    const { sup } = await supervisor([agent('Agent_1', 's-1'), agent('Agent_2', 's-1', 'Agent_1'), agent('Agent_3', 's-1', 'Agent_1')]);
    const run = await sup.coordinate({ mode: 'sequential', task: 'step', agents: ['Agent_2', 'Agent_3'], timeout_s: 30 }, { caller: { agent: 'Agent_1' } });
    expect(run).toMatchObject({ session_id: 's-1', caller: 'Agent_1', state: 'failed' });
    expect(run.results.map((r) => [r.agent, r.status])).toEqual([
      ['Agent_2', 'failed'],
      ['Agent_3', 'skipped'],
    ]);
    expect(run.summary).toMatch(/^The pipeline stopped at step 1 of 2 \(Agent_2\): Agent_2 has no running conversation/);
    expect((await sup.listRuns({ caller: { agent: 'Agent_3' } })).runs.map((r) => r.run_id)).toEqual([run.run_id]);
  });
});
