import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config.js';
import { jsonCodec, StateStore } from '../../src/store/state-store.js';
import type { AgentRecord, State } from '../../src/store/types.js';
import type { TerminalBackend } from '../../src/terminals/backend.js';
import type { AgentObserver, LiveStatus } from '../../src/supervisor/observer.js';
import type { Relauncher } from '../../src/supervisor/relaunch.js';
import { Roster } from '../../src/supervisor/roster.js';
import { StatusView } from '../../src/supervisor/status-view.js';
import { CrewUsage, usageView, type UsageMeter } from '../../src/supervisor/usage.js';
import { agentRecord, RECORD_TIME } from '../support/records.js';

/*
 * get_session_status is assembled in one place (supervisor/status-view.ts). Its cost grows
 * with the crew: the crew's usage is read once per call and each agent's usage comes from
 * it, not once more per agent of the session.
 */

const base = mkdtempSync(join(tmpdir(), 'tabcrew-status-view-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

async function crew(): Promise<{ view: StatusView; usageReads: string[] }> {
  mkdirSync(join(base, 'a'), { recursive: true });
  mkdirSync(join(base, 'b'), { recursive: true });
  const store = new StateStore(join(base, 'state'), jsonCodec);
  const agent = (n: number, sessionId: string): AgentRecord =>
    agentRecord({ name: `Agent_${n}`, sessionId, claudeSessionId: `00000000-0000-4000-8000-00000000000${n}` });
  await store.update((s: State) => {
    s.sessions.push({ id: 's-1', name: 'a', root: join(base, 'a'), createdAt: RECORD_TIME });
    s.sessions.push({ id: 's-2', name: 'b', root: join(base, 'b'), createdAt: RECORD_TIME });
    s.agents.push(agent(1, 's-1'), agent(2, 's-1'), agent(3, 's-1'), agent(4, 's-2'), agent(5, 's-2'));
    s.nextAgentNumber = 6;
  });
  const live: LiveStatus = { status: 'idle', source: 'hook', since: Date.parse(RECORD_TIME) };
  const observer = {
    watch: () => undefined,
    observe: async (_s: unknown, agents: AgentRecord[]) => new Map(agents.map((a) => [a.name, live])),
  } as unknown as AgentObserver;
  const usageReads: string[] = [];
  const n = (name: string) => Number(name.slice('Agent_'.length));
  const meter = {
    agentCount: async (a: AgentRecord) => {
      usageReads.push(a.name);
      const totals = { input: 100 * n(a.name), output: 10, cache_read: 0, cache_creation: 0 };
      return { view: usageView(new Map([['claude-sonnet-4-5', totals]]), {}), ledger: undefined };
    },
  } as unknown as UsageMeter;
  const view = new StatusView({
    config: defaultConfig(),
    store,
    backend: {} as TerminalBackend,
    observer,
    roster: new Roster(store),
    usage: new CrewUsage({ meter }),
    ledger: {
      count: async (name: string) => {
        usageReads.push(`ledger:${name}`);
        return undefined;
      },
    },
    relaunch: { crashOf: () => undefined } as unknown as Relauncher,
    review: { overlaps: async () => [] },
    limits: { view: () => [] },
  });
  return { view, usageReads };
}

describe('the status view', () => {
  it("counts the crew's usage once per session status: each agent's usage and tokens come from that count, not from a second one", async () => {
    const { view, usageReads } = await crew();
    const status = await view.getSessionStatus('a');
    expect(usageReads.sort()).toEqual(['Agent_1', 'Agent_2', 'Agent_3', 'Agent_4', 'Agent_5']);
    expect(status.agents.map((a) => [a.agent, a.usage.input])).toEqual([
      ['Agent_1', 100],
      ['Agent_2', 200],
      ['Agent_3', 300],
    ]);
    expect(status.usage.input).toBe(600);
    expect(status.crew_usage.input).toBe(1500);
  });
});
