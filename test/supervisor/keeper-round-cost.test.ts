import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../src/audit/logger.js';
import { transcriptPath } from '../../src/claude/transcript.js';
import { defaultConfig } from '../../src/config.js';
import { StateStore } from '../../src/store/state-store.js';
import type { State } from '../../src/store/types.js';
import { Keeper, type KeeperDeps } from '../../src/supervisor/keeper.js';
import type { LiveStatus } from '../../src/supervisor/observer.js';
import { sumUsage } from '../../src/supervisor/usage.js';
import { UsageLedger } from '../../src/supervisor/usage-ledger.js';
import { agentRecord } from '../support/records.js';

/*
 * The keeper's round over a crew while one of its sessions is recovered: sixteen tabs recorded
 * are several saves of the state, and each round counts every agent's usage and looks at
 * every agent's health. What a round reads for an agent whose own record and files did not
 * change is what it costs the recovery's CPU.
 */

const reads = vi.hoisted(() => ({ transcripts: 0 }));
vi.mock('../../src/claude/transcript-usage.js', async (original) => {
  const m = await original<typeof import('../../src/claude/transcript-usage.js')>();
  return { ...m, readUsageSince: (...a: Parameters<typeof m.readUsageSince>) => (reads.transcripts++, m.readUsageSince(...a)) };
});

const base = realpathSync(mkdtempSync(join(tmpdir(), 'tabcrew-keeper-cost-')));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const ids = ['44444444-4444-4444-8444-444444444441', '44444444-4444-4444-8444-444444444442'];
const call = (id: string, out: number) =>
  `${JSON.stringify({ type: 'assistant', requestId: `r-${id}`, message: { id, model: 'claude-x', content: [], usage: { input_tokens: 10, output_tokens: out } } })}\n`;

describe("a keeper round's usage count", () => {
  it("does not read an agent's transcripts again after a save that left its record as it was; a change to its record or transcript is counted", async () => {
    const root = join(base, 'app');
    mkdirSync(root, { recursive: true });
    const store = new StateStore(join(base, 'state'));
    await store.update((s) => {
      s.sessions.push({ id: 's-1', name: 'app', root, createdAt: '' });
      ids.forEach((id, i) => s.agents.push(agentRecord({ name: `Agent_${i + 1}`, claudeSessionId: id })));
    });
    const config = join(base, 'claude');
    const paths = ids.map((id) => transcriptPath(config, root, id));
    mkdirSync(join(paths[0]!, '..'), { recursive: true });
    paths.forEach((p, i) => writeFileSync(p, call(`a${i}`, 5)));
    const ledger = new UsageLedger({ store, claudeConfigDir: config, log: silentLogger });
    await ledger.count('Agent_1');
    await ledger.count('Agent_1'); // nothing new: remembered as quiet

    // Another agent's tab recorded: a save, the state file's identity changes.
    await store.update((s) => void (s.agents.find((a) => a.name === 'Agent_2')!.tab = { backend: 'tmux', id: '@7' }));
    const before = reads.transcripts;
    const quiet = await ledger.count('Agent_1');
    expect(reads.transcripts).toBe(before);
    expect(quiet?.conversations[ids[0]!]).toBeDefined();

    // Its own record changed (another tabcrew counted it, say): read again.
    await store.update((s) => void (s.agents.find((a) => a.name === 'Agent_1')!.usage!.conversations[ids[0]!]!.offset = 0));
    await ledger.count('Agent_1');
    expect(reads.transcripts).toBe(before + 1);

    writeFileSync(paths[0]!, call('a0', 5) + call('b0', 7));
    const grown = await ledger.count('Agent_1');
    expect(reads.transcripts).toBe(before + 2);
    expect(Object.values(grown!.byModel ?? {}).reduce((n, t) => n + t.output, 0)).toBe(12);
  });
});

describe("a keeper round's health look", () => {
  function keeper(live: LiveStatus) {
    const looked: string[] = [];
    const state = { sessions: [{ id: 's-1', name: 'app', root: base, createdAt: '' }], agents: [agentRecord({})], generation: 1 } as unknown as State;
    const deps = {
      config: defaultConfig(),
      store: { read: async () => structuredClone(state) },
      observer: { observe: async () => new Map([[state.agents[0]!.name, live]]) },
      log: silentLogger,
      usage: { crewUsage: async () => ({ agents: new Map(), total: sumUsage([]) }) },
      budgets: { checkBudget: async () => undefined },
      relaunch: { checkCrash: async () => undefined },
      status: { healthOf: async (a: { name: string }) => (looked.push(a.name), { health: 'ok' }) },
      notices: { tell: () => undefined },
      roster: { patchIfThere: async () => undefined },
      agents: { hibernateAgent: async () => false },
    } as unknown as KeeperDeps;
    return { k: new Keeper(deps), looked };
  }

  it("looks at no idle agent's health (only a busy one can be stuck, only one waiting on a person waiting long)", async () => {
    const idle = keeper({ status: 'idle', source: 'hook', since: 0 });
    await idle.k.tick();
    expect(idle.looked).toEqual([]);
    for (const status of ['busy', 'waiting_permission'] as const) {
      const working = keeper({ status, source: 'hook', since: 0 });
      await working.k.tick();
      expect(working.looked).toHaveLength(1);
    }
  });
});
