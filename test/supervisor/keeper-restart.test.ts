import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/audit/logger.js';
import { defaultConfig } from '../../src/config.js';
import { jsonCodec, StateStore } from '../../src/store/state-store.js';
import type { AgentRecord, State } from '../../src/store/types.js';
import type { TerminalBackend } from '../../src/terminals/backend.js';
import type { AgentLifecycle } from '../../src/supervisor/agents.js';
import { Budgets } from '../../src/supervisor/budgets.js';
import type { Services } from '../../src/supervisor/context.js';
import { Keeper } from '../../src/supervisor/keeper.js';
import { Notices, type Notice } from '../../src/supervisor/notices.js';
import { Relauncher } from '../../src/supervisor/relaunch.js';
import { Roster } from '../../src/supervisor/roster.js';
import { StatusView } from '../../src/supervisor/status-view.js';
import type { AgentObserver, LiveStatus } from '../../src/supervisor/observer.js';
import type { Owner } from '../../src/supervisor/owner.js';
import { CrewUsage, sumUsage, type UsageMeter } from '../../src/supervisor/usage.js';
import { until } from '../support/until.js';
import { agentRecord } from '../support/records.js';

/*
 * What the keeper has done about an agent lives in the agent's state record: a second Keeper
 * on the same store (a restarted `tabcrew serve`) goes on where the first one stopped.
 */

const base = mkdtempSync(join(tmpdir(), 'tabcrew-keeper-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const t0 = Date.parse('2026-12-01T10:00:00.000Z');
const iso = (ms: number): string => new Date(ms).toISOString();

let n = 0;
async function crew(agent: Partial<AgentRecord>) {
  const d = join(base, `case-${++n}`);
  mkdirSync(join(d, 'app'), { recursive: true });
  const store = new StateStore(join(d, 'state'), jsonCodec);
  await store.update((s: State) => {
    s.sessions.push({ id: 's-1', name: 'app', root: join(d, 'app'), createdAt: iso(t0) });
    s.agents.push(agentRecord({ since: iso(t0), createdAt: iso(t0), ...agent }));
    s.nextAgentNumber = 2;
  });
  let live: LiveStatus = { status: agent.status ?? 'idle', source: 'terminal', since: t0 };
  const observer = {
    watch: () => undefined,
    onChange: () => () => undefined,
    observe: async (_s: unknown, agents: AgentRecord[]) => new Map(agents.map((a) => [a.name, live])),
    observeOne: async () => live,
  } as unknown as AgentObserver;
  const backend = { name: 'tmux', calls: 0, readScreen: async () => 'Error: the API went away', sendKeys: async () => undefined } as unknown as TerminalBackend;
  const ctx: Services = {
    config: { ...defaultConfig(), stuckAfterMs: 60_000 },
    store,
    backend,
    log: silentLogger,
    env: {},
    observer,
    owner: {} as Owner,
  };
  const relaunches: number[] = [];
  const views = new WeakMap<Keeper, StatusView>();
  /** A new Keeper on the same store, with new owners of budgets, relaunches and notices: what a restarted server starts with. */
  const keeper = (outcome: { ok: true } | { ok: false; reason: string }) => {
    const roster = new Roster(store);
    const notices = new Notices(ctx);
    const usage = new CrewUsage({ meter: { agentCount: async () => ({ view: sumUsage([]), ledger: undefined }) } as unknown as UsageMeter });
    const agents = {
      relaunchAgent: async () => {
        relaunches.push(relaunches.length + 1);
        return outcome;
      },
      hibernateAgent: async () => false,
    } as unknown as AgentLifecycle;
    const budgets = new Budgets({ ...ctx, usage, notices, roster });
    const relaunch = new Relauncher({ ...ctx, roster, notices, agents });
    const status = new StatusView({ ...ctx, roster, usage, ledger: { count: async () => undefined }, relaunch });
    const k = new Keeper({ ...ctx, usage, budgets, relaunch, status, notices, roster, agents });
    views.set(k, status);
    const notes: Notice[] = [];
    notices.onNotice((x) => notes.push(x));
    return { k, notices: notes };
  };
  const record = async (): Promise<AgentRecord> => (await store.read()).agents[0]!;
  const health = async (k: Keeper, now: number) => {
    const s = await store.read();
    return views.get(k)!.healthOf(s.agents[0]!, s.sessions[0]!, live, now);
  };
  /** The agent's status now, in the record as the observer writes it, and live. */
  const setLive = async (l: LiveStatus): Promise<void> => {
    live = l;
    await store.update((s: State) => Object.assign(s.agents[0]!, { status: l.status, since: iso(l.since!) }));
  };
  return { keeper, record, health, relaunches, setLive };
}

describe('the keeper after a tabcrew restart', () => {
  it('a failed relaunch is still a crash after a restart, and the next attempt continues the count and the backoff', async () => {
    const c = await crew({ status: 'exited' });
    await c.setLive({ status: 'exited', source: 'terminal', since: t0 });
    const first = c.keeper({ ok: false, reason: 'the tab could not be opened' });
    await first.k.tick(t0 + 2_000);
    const failed = await until('the attempt failed', async () => ((await c.record()).relaunch?.failed ? c.record() : undefined), 5_000, 20);
    expect(failed.relaunch).toMatchObject({ attempts: 1, lastAttemptAt: iso(t0 + 2_000), failed: true, lastError: 'the tab could not be opened' });
    expect(failed.relaunch?.running).toBeUndefined();
    await first.k.stop();

    // The dead tab is gone: detached, which alone would be a tab a person closed.
    await c.setLive({ status: 'detached', source: 'terminal', since: t0 + 2_000 });
    const second = c.keeper({ ok: true });
    expect(await c.health(second.k, t0 + 3_000)).toMatchObject({ health: 'crashed', reason: expect.stringContaining('1 of 3 relaunches so far') });
    await second.k.tick(t0 + 2_000 + 9_000);
    expect(c.relaunches).toEqual([1]); // attempt 2 waits 10 s after attempt 1
    await second.k.tick(t0 + 2_000 + 10_000);
    const again = await until('attempt 2 done', async () => ((await c.record()).relaunch?.running ? undefined : c.record()), 5_000, 20);
    expect(c.relaunches).toEqual([1, 2]);
    expect(again.relaunch).toMatchObject({ attempts: 2, lastAttemptAt: iso(t0 + 12_000) });
    expect(again.relaunch?.failed).toBeUndefined();
    await second.k.stop();
  });

  it('a relaunch cut short by the restart counts as a failed attempt: the agent is crashed, not detached', async () => {
    const c = await crew({ status: 'detached', relaunch: { attempts: 2, lastAttemptAt: iso(t0), running: true } });
    await c.setLive({ status: 'detached', source: 'terminal', since: t0 });
    const { k } = c.keeper({ ok: true });
    expect(await c.health(k, t0 + 1_000)).toMatchObject({ health: 'crashed', reason: expect.stringContaining('2 of 3 relaunches so far') });
    await k.tick(t0 + 30_000);
    await until('attempt 3 done', async () => ((await c.record()).relaunch?.running ? undefined : true), 5_000, 20);
    expect((await c.record()).relaunch).toMatchObject({ attempts: 3 });
    await k.stop();
  });

  it('an agent whose tab a person closed, with no relaunch on record, is detached and healthy after a restart, never crashed', async () => {
    const c = await crew({ status: 'detached' });
    await c.setLive({ status: 'detached', source: 'terminal', since: t0 });
    const { k } = c.keeper({ ok: true });
    expect((await c.health(k, t0 + 60_000)).health).toBe('ok');
    await k.tick(t0 + 60_000);
    expect(c.relaunches).toEqual([]);
  });

  it('a stuck agent is told about once: a restarted server does not tell the same episode again, a new one it does', async () => {
    const c = await crew({ status: 'busy' });
    await c.setLive({ status: 'busy', source: 'hook', since: t0 });
    const first = c.keeper({ ok: true });
    await first.k.tick(t0 + 61_000);
    await first.k.tick(t0 + 64_000);
    expect(first.notices.map((x) => x.reason)).toEqual(['stuck']);
    expect((await c.record()).healthMarks?.told).toEqual({ health: 'stuck', since: iso(t0) });
    await first.k.stop();

    const second = c.keeper({ ok: true });
    expect((await c.health(second.k, t0 + 70_000)).health).toBe('stuck');
    await second.k.tick(t0 + 70_000);
    expect(second.notices).toEqual([]);

    // A later turn that gets stuck is a new episode.
    await c.setLive({ status: 'busy', source: 'hook', since: t0 + 100_000 });
    await second.k.tick(t0 + 200_000);
    expect(second.notices.map((x) => x.reason)).toEqual(['stuck']);
  });
});
