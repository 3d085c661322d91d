import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../src/audit/logger.js';
import { agentDirFor } from '../../src/claude/launch.js';
import { requestPath, writePrivateFile, type PermissionRequestFile } from '../../src/claude/permission-files.js';
import { defaultConfig } from '../../src/config.js';
import { StateStore } from '../../src/store/state-store.js';
import type { State } from '../../src/store/types.js';
import type { TerminalBackend } from '../../src/terminals/backend.js';
import type { AgentLifecycle } from '../../src/supervisor/agents.js';
import type { Services } from '../../src/supervisor/context.js';
import { Keeper, type KeeperDeps } from '../../src/supervisor/keeper.js';
import { MessageCenter } from '../../src/supervisor/messages.js';
import { AgentObserver } from '../../src/supervisor/observer.js';
import { Owner } from '../../src/supervisor/owner.js';
import type { LiveStatus } from '../../src/supervisor/observer.js';
import { PermissionBroker } from '../../src/supervisor/permissions.js';
import { RuntimeWatch, type RuntimeActivity } from '../../src/supervisor/runtime-watch.js';
import { sleep } from '../../src/supervisor/timing.js';
import { sumUsage } from '../../src/supervisor/usage.js';
import { UsageLedger } from '../../src/supervisor/usage-ledger.js';
import { agentRecord } from '../support/records.js';
import { until } from '../support/until.js';

/*
 * A quiet crew costs (next to) nothing: what `serve` used to poll for, it waits for (fs.watch
 * on the runtime folder), and what it still looks at now and then, it looks at less often while
 * nothing changes — without noticing anything later.
 */

const base = realpathSync(mkdtempSync(join(tmpdir(), 'tabcrew-idle-')));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const CSID = '33333333-3333-3333-3333-333333333333';

/** A keeper over one agent whose status is `live`; `poke` is a hook event. */
function keeper(live: LiveStatus = { status: 'idle', source: 'hook', since: 0 }, hibernateAfterMs?: number, looking?: () => Promise<void>) {
  let rounds = 0;
  const hibernated: number[] = [];
  let listener: ((a: RuntimeActivity) => void) | undefined;
  const state = { sessions: [{ id: 's-1', name: 'app', root: base, createdAt: '' }], agents: [agentRecord({})], generation: 1 } as unknown as State;
  const deps = {
    config: { ...defaultConfig(), hibernateAfterMs },
    store: { read: async () => structuredClone(state) },
    observer: {
      observe: async () => {
        rounds++;
        await looking?.();
        return new Map([[state.agents[0]!.name, live]]);
      },
    },
    log: silentLogger,
    usage: { crewUsage: async () => ({ agents: new Map(), total: sumUsage([]) }) },
    budgets: { checkBudget: async () => undefined },
    relaunch: { checkCrash: async () => undefined },
    status: { healthOf: async () => ({ health: 'ok' }) },
    notices: { tell: () => undefined },
    roster: { patchIfThere: async () => undefined },
    agents: { hibernateAgent: async () => (hibernated.push(Date.now()), false) },
    activity: {
      on: (l: (a: RuntimeActivity) => void) => {
        listener = l;
        return () => (listener = undefined);
      },
    },
  } as unknown as KeeperDeps;
  return { k: new Keeper(deps), rounds: () => rounds, hibernated, poke: () => listener?.({ what: 'spool', claudeSessionId: CSID }) };
}

describe('the keeper of a quiet crew', () => {
  it('waits longer between rounds while nothing changes, and comes back at once when a hook reports something', async () => {
    const { k, rounds, poke } = keeper();
    k.start(40);
    try {
      await sleep(1500);
      // Every 40 ms that is 37 rounds; backing off to 400 ms, about 6.
      const quiet = rounds();
      expect(quiet).toBeGreaterThanOrEqual(3);
      expect(quiet).toBeLessThanOrEqual(12);
      poke();
      await sleep(120);
      expect(rounds()).toBeGreaterThan(quiet);
    } finally {
      await k.stop();
    }
  });
});

describe('the keeper of a quiet crew, told of a hook while a round runs', () => {
  it('does not back off after that round: the hook may have come after the round read the spool', async () => {
    vi.useFakeTimers();
    let hold: Promise<void> | undefined;
    const { k, rounds, poke } = keeper(undefined, undefined, () => hold ?? Promise.resolve());
    try {
      k.start(40);
      // Backed off: 40 ms doubling up to 400 ms.
      await vi.advanceTimersByTimeAsync(4000);
      let release!: () => void;
      hold = new Promise((r) => (release = r));
      const before = rounds();
      await vi.advanceTimersByTimeAsync(400);
      expect(rounds()).toBe(before + 1);
      // The round is looking; a hook fires now, and the round ends having seen nothing new.
      poke();
      hold = undefined;
      release();
      await vi.advanceTimersByTimeAsync(0);
      await vi.advanceTimersByTimeAsync(50);
      expect(rounds()).toBe(before + 2);
    } finally {
      await k.stop();
      vi.useRealTimers();
    }
  });
});

describe('the keeper of a crew with work', () => {
  it('keeps its base interval while an agent is busy (stuck and time limits are looked at every round)', async () => {
    const { k, rounds } = keeper({ status: 'busy', source: 'hook', since: 0 });
    k.start(40);
    try {
      await sleep(1000);
      expect(rounds()).toBeGreaterThanOrEqual(15);
    } finally {
      await k.stop();
    }
  });

  it('looks at an idle agent when its --hibernate-after is due, however long it has backed off', async () => {
    const since = Date.now();
    const { k, hibernated } = keeper({ status: 'idle', source: 'hook', since }, 1900);
    k.start(40);
    try {
      const at = await until('the hibernation looked at', async () => hibernated[0], 5000);
      // Backing off alone (40 ms doubling up to 400 ms), rounds come at 1.44 s, 1.84 s, then 2.24 s.
      expect(at - since).toBeLessThan(2100);
    } finally {
      await k.stop();
    }
  });
});

describe('the permission broker with the runtime folder watched', () => {
  it('announces a new request as its file appears, not at a scan a second later', async () => {
    const runtime = join(base, 'runtime');
    const dir = join(agentDirFor(runtime, CSID), 'permissions');
    mkdirSync(agentDirFor(runtime, CSID), { recursive: true, mode: 0o700 });
    const state = {
      sessions: [{ id: 's-1', name: 'app', root: base, createdAt: '' }],
      agents: [agentRecord({ claudeSessionId: CSID })],
    } as unknown as State;
    const watch = new RuntimeWatch(runtime, silentLogger);
    const broker = new PermissionBroker({ store: { read: async () => state }, runtimeDir: runtime, log: silentLogger, activity: watch });
    const seen: { id: string; at: number }[] = [];
    const off = broker.onRequest((p) => seen.push({ id: p.request_id, at: Date.now() }));
    try {
      await watch.sync();
      await sleep(100);
      // The folder the hook makes, then its request file.
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      await sleep(100);
      const asked = Date.now();
      const req: PermissionRequestFile = {
        v: 1,
        request_id: 'p-00000000000000aa',
        tool: 'Bash',
        input_summary: 'ls',
        input_fp: 'x',
        since: new Date().toISOString(),
        pid: process.pid,
      };
      writePrivateFile(requestPath(dir, req.request_id), req);
      const hit = await until('the request announced', () => seen.find((s) => s.id === req.request_id), 5000);
      expect(hit.at - asked).toBeLessThan(600);
    } finally {
      off();
    }
  });
});

describe('usage counting of a quiet agent', () => {
  it('reads neither the state nor the transcript again while neither changed, and counts what a transcript gains', async () => {
    const d = join(base, 'usage');
    const root = join(d, 'app');
    mkdirSync(root, { recursive: true });
    const store = new StateStore(join(d, 'state'));
    await store.update((s) => {
      s.sessions.push({ id: 's-1', name: 'app', root, createdAt: '' });
      s.agents.push(agentRecord({ claudeSessionId: CSID }));
    });
    const config = join(d, 'claude');
    const ledger = new UsageLedger({ store, claudeConfigDir: config, log: silentLogger });
    const { transcriptPath } = await import('../../src/claude/transcript.js');
    const path = transcriptPath(config, root, CSID);
    mkdirSync(join(path, '..'), { recursive: true });
    const call = (id: string, out: number) =>
      `${JSON.stringify({ type: 'assistant', requestId: `r-${id}`, message: { id, model: 'claude-x', content: [], usage: { input_tokens: 10, output_tokens: out } } })}\n`;
    writeFileSync(path, call('a', 5));
    const name = agentRecord({}).name;
    expect((await ledger.count(name))?.conversations[CSID]).toBeDefined();
    await ledger.count(name); // nothing new: remembered as quiet
    // Every read of the state (read copies, peek does not) goes through peek.
    let reads = 0;
    const peek = store.peek.bind(store);
    store.peek = async (look) => (reads++, peek(look));
    await ledger.count(name);
    await ledger.count(name);
    expect(reads).toBe(0);
    writeFileSync(path, call('a', 5) + call('b', 7));
    const grown = await ledger.count(name);
    expect(reads).toBeGreaterThan(0);
    const tokens = Object.values(grown!.byModel ?? {}).reduce((n, t) => n + t.output, 0);
    expect(tokens).toBe(12);
  });
});

describe('the message pump of a quiet crew', () => {
  it('runs no pump while nothing is queued, and takes up a message another process queued as the state file changes', async () => {
    const d = join(base, 'mail');
    mkdirSync(join(d, 'root'), { recursive: true });
    const noTabs = { name: 'tmux', calls: 0, listTabs: async () => [], readScreen: async () => '' } as unknown as TerminalBackend;
    const config = { ...defaultConfig(), runtimeDir: join(d, 'runtime') };
    const services = (store: StateStore): Services => ({
      config,
      store,
      backend: noTabs,
      log: silentLogger,
      env: {},
      observer: new AgentObserver({ store, backend: noTabs, log: silentLogger, runtimeDir: config.runtimeDir, env: {} }),
      owner: new Owner(),
    });
    const mine = new StateStore(join(d, 'state'));
    await mine.update((s) => {
      s.sessions.push({ id: 's-1', name: 'app', root: join(d, 'root'), createdAt: '' });
      s.agents.push(agentRecord({ hibernated: { at: new Date().toISOString() } }), agentRecord({ name: 'Agent_2', claudeSessionId: CSID }));
    });
    // Agent_1 is idle by its hooks (and hibernated: a message wakes it first).
    const spool = agentDirFor(config.runtimeDir, agentRecord({}).claudeSessionId!);
    mkdirSync(spool, { recursive: true });
    const hook = (event: string) => JSON.stringify({ ts: Date.now(), event, session_id: agentRecord({}).claudeSessionId });
    writeFileSync(join(spool, 'events.jsonl'), `${hook('SessionStart')}\n${hook('Stop')}\n`);
    const woken: { name: string; at: number }[] = [];
    const agents = {
      withLock: (_name: string, work: () => Promise<unknown>) => work(),
      wakeAgent: async (name: string) => void woken.push({ name, at: Date.now() }),
    } as unknown as Pick<AgentLifecycle, 'withLock' | 'wakeAgent'>;
    const served = new MessageCenter(services(mine), agents);
    served.start();
    try {
      await sleep(300);
      let reads = 0;
      const read = mine.read.bind(mine);
      mine.read = async () => (reads++, read());
      // Long enough for the state scan every 2 s that the pump used to run.
      await sleep(2000);
      expect(reads).toBe(0);
      // A one-shot CLI process: its own store on the same folder, no pump of its own.
      const other = new MessageCenter(services(new StateStore(join(d, 'state'))), agents);
      const sent = Date.now();
      await other.send({ from: 'Agent_2', sessionId: 's-1' }, { to: 'Agent_1', message: 'wake up' });
      const hit = await until('the sleeping recipient woken', () => woken.find((w) => w.name === 'Agent_1'), 5000);
      expect(hit.at - sent).toBeLessThan(1000);
    } finally {
      served.stop();
    }
  });
});

describe('the runtime folder watch', () => {
  it('watches every agent folder that appears, also one made while it was adding the folders it found', async () => {
    const runtime = join(base, 'watch-many');
    const watch = new RuntimeWatch(runtime, silentLogger);
    const heard = new Set<string>();
    const off = watch.on((a) => void (a.what === 'spool' && heard.add(a.claudeSessionId)));
    try {
      await watch.sync();
      // Agents launched one after another: each new folder starts a sync while the last one runs.
      const ids = Array.from({ length: 24 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
      for (const id of ids) {
        mkdirSync(agentDirFor(runtime, id), { recursive: true });
        await sleep(2);
      }
      await sleep(300);
      for (const id of ids) writeFileSync(join(agentDirFor(runtime, id), 'events.jsonl'), '{}\n');
      // Waited for, then named: a folder left unwatched is listed.
      await until('every spool heard', async () => (heard.size === ids.length ? true : undefined), 3000).catch(() => undefined);
      expect(ids.filter((id) => !heard.has(id))).toEqual([]);
    } finally {
      off();
    }
  });
});
