import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/audit/logger.js';
import { agentDirFor } from '../../src/claude/launch.js';
import { defaultConfig } from '../../src/config.js';
import { jsonCodec, StateStore } from '../../src/store/state-store.js';
import type { State } from '../../src/store/types.js';
import type { TabHandle, TabInfo, TabLaunch, TerminalBackend } from '../../src/terminals/backend.js';
import { parseTag } from '../../src/supervisor/observer.js';
import { Supervisor } from '../../src/supervisor/supervisor.js';
import { agentRecord } from '../support/records.js';

const base = mkdtempSync(join(tmpdir(), 'tabcrew-recovery-cost-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const idle = readFileSync(join(import.meta.dirname, '../fixtures/screens/idle.txt'), 'utf8');
const N = 16;

/**
 * A terminal whose programs start at once: each new tab's Claude Code reports SessionStart in its launch's spool;
 * with `apartMs`, the n-th tab's after n × apartMs (agents that boot at different speeds, as sixteen on two cores do).
 */
function startingTerminal(runtimeDir: string, apartMs = 0): TerminalBackend {
  const tabs: TabInfo[] = [];
  let next = 1;
  return {
    name: 'tmux',
    calls: 0,
    async createTab(l: TabLaunch): Promise<TabHandle> {
      const tab: TabInfo = { backend: 'tmux', id: `@${next++}`, tag: l.tag, group: l.group, title: l.title, alive: true };
      tabs.push(tab);
      const dir = agentDirFor(runtimeDir, parseTag(l.tag)!.claudeSessionId);
      mkdirSync(dir, { recursive: true });
      const start = () =>
        appendFileSync(
          join(dir, 'events.jsonl'),
          `${JSON.stringify({ ts: Date.now(), event: 'SessionStart', session_id: parseTag(l.tag)!.claudeSessionId, launch: l.env.TABCREW_LAUNCH })}\n`,
        );
      if (apartMs) setTimeout(start, (next - 1) * apartMs);
      else start();
      return tab;
    },
    paste: async () => undefined,
    sendKeys: async () => undefined,
    readScreen: async () => idle,
    readScreens: async () => new Map(),
    listTabs: async () => tabs,
    closeTab: async () => undefined,
    dispose: async () => undefined,
  };
}

/** A state of N idle agents with no tab, and a Supervisor on it and `backend`. */
async function crew(name: string, backend: (runtimeDir: string) => TerminalBackend) {
  const d = { state: join(base, name, 'state'), runtime: join(base, name, 'runtime'), root: join(base, name, 'app') };
  for (const p of Object.values(d)) mkdirSync(p, { recursive: true });
  const store = new StateStore(d.state, jsonCodec);
  await store.update((s: State) => {
    s.sessions.push({ id: 's-1', name: 'app', root: d.root, createdAt: '' });
    for (let i = 1; i <= N; i++) {
      const id = `${String(i).padStart(8, '0')}-1111-4111-8111-111111111111`;
      s.agents.push(agentRecord({ name: `Agent_${i}`, claudeSessionId: id, status: 'idle', since: new Date().toISOString(), tab: null, createdAt: '' }));
    }
    s.nextAgentNumber = N + 1;
  });
  const config = {
    ...defaultConfig(),
    stateDir: d.state,
    runtimeDir: d.runtime,
    logDir: d.state,
    claudePath: process.execPath,
    startTimeoutS: 10,
    sandbox: 'off' as const,
  };
  return { store, sup: new Supervisor({ config, store, backend: backend(d.runtime), log: silentLogger, env: process.env }) };
}

describe('the cost of a recovery to the state', () => {
  it('resuming 16 agents at once reads the state once for them all and saves it in a few batches, not once or twice per agent', async () => {
    const { store, sup } = await crew('cost', startingTerminal);
    let reads = 0;
    const read = store.read.bind(store);
    store.read = () => (reads++, read());
    const before = (await read()).generation!;

    const report = await sup.recover({ session: 'app' });

    expect(report.recovered).toHaveLength(N);
    expect(report.recovered.every((r) => r.status === 'idle')).toBe(true);
    const saves = (await read()).generation! - before;
    // Claims (with the launches' secrets) and tabs, each a batch (the first of each may go alone, before the others queue).
    expect(saves).toBeLessThanOrEqual(4);
    expect(reads).toBeLessThan(N);
  });

  it('resuming 16 agents that become ready at different times records their tabs in a few saves, not one per agent or two', async () => {
    const { store, sup } = await crew('apart', (runtimeDir) => startingTerminal(runtimeDir, 25));
    const before = (await store.read()).generation!;
    const report = await sup.recover({ session: 'app' });
    expect(report.recovered).toHaveLength(N);
    expect(report.recovered.every((r) => r.status === 'idle')).toBe(true);
    const state = await store.read();
    expect(state.agents.every((a) => a.tab && !a.owner && a.status === 'idle')).toBe(true);
    // The claims (one or two batches), then the tabs of 16 agents ready over ~400 ms, held at most 150 ms each.
    expect(state.generation! - before).toBeLessThanOrEqual(6);
  });

  it("resuming 16 agents at once asks the terminal for every tab before the first is made: none starts while the others' launches are prepared", async () => {
    const made: number[] = [];
    let done = 0;
    const { sup } = await crew('together', (runtimeDir) => {
      const terminal = startingTerminal(runtimeDir);
      const create = terminal.createTab.bind(terminal);
      terminal.createTab = async (l) => {
        // How many tabs were made when this one was asked for.
        made.push(done);
        await new Promise((r) => setImmediate(r));
        const tab = await create(l);
        done++;
        return tab;
      };
      return terminal;
    });
    const report = await sup.recover({ session: 'app' });
    expect(report.recovered).toHaveLength(N);
    expect(made).toEqual(Array.from({ length: N }, () => 0));
  });
});
