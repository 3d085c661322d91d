import { appendFileSync, mkdirSync, mkdtempSync, realpathSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/audit/logger.js';
import { transcriptPath } from '../../src/claude/transcript.js';
import { jsonCodec, StateStore } from '../../src/store/state-store.js';
import type { AgentRecord } from '../../src/store/types.js';
import { RECENT_CALLS, UsageLedger } from '../../src/supervisor/usage-ledger.js';
import { UsageMeter } from '../../src/supervisor/usage.js';
import { agentRecord } from '../support/records.js';

/*
 * The ledger counts what the transcript held when it looked, into the state: whatever the agent
 * does to its transcript afterwards (empty it mid-turn, rewrite it lower, shorten it), the
 * totals never go down. Each case reads a real file the way the hook's count does.
 */

const base = realpathSync(mkdtempSync(join(tmpdir(), 'tabcrew-ledger-')));
afterAll(() => rmSync(base, { recursive: true, force: true }));

const MODEL = 'claude-test';
const CONV = '00000000-0000-4000-8000-000000000001';

/** One transcript line of an API call: lines of one call share the id (text, tool_use). */
const line = (id: string, usage: { i?: number; o?: number; r?: number; w?: number } = {}, model = MODEL): string =>
  JSON.stringify({
    type: 'assistant',
    requestId: `req_${id}`,
    message: {
      id,
      model,
      role: 'assistant',
      content: [{ type: 'text', text: 'x' }],
      usage: { input_tokens: usage.i ?? 100, output_tokens: usage.o ?? 20, cache_read_input_tokens: usage.r ?? 5, cache_creation_input_tokens: usage.w ?? 10 },
    },
  }) + '\n';
const prompt = (text: string): string => JSON.stringify({ type: 'user', message: { role: 'user', content: text } }) + '\n';

let n = 0;
let world: { store: StateStore; ledger: UsageLedger; file: string; root: string; config: string; audit: Record<string, unknown>[] };

async function makeWorld(agent: Partial<AgentRecord> = {}): Promise<typeof world> {
  const dir = join(base, `w${++n}`);
  const root = join(dir, 'app');
  const config = join(dir, 'claude');
  mkdirSync(root, { recursive: true });
  const store = new StateStore(join(dir, 'state'), jsonCodec);
  await store.update((s) => {
    s.sessions.push({ id: 's-1', name: 'app', root, createdAt: '' });
    s.agents.push(agentRecord(agent));
  });
  const file = transcriptPath(config, root, CONV);
  mkdirSync(dirname(file), { recursive: true });
  const audit: Record<string, unknown>[] = [];
  const ledger = new UsageLedger({
    store,
    claudeConfigDir: config,
    log: silentLogger,
    audit: { append: async (r: Record<string, unknown>) => void audit.push(r) } as never,
  });
  return { store, ledger, file, root, config, audit };
}

const totals = async (w = world) => (await w.ledger.count('Agent_1'))!.byModel[MODEL];

beforeEach(async () => {
  world = await makeWorld();
});

describe('counted usage (supervisor/usage-ledger.ts)', () => {
  it('a transcript emptied mid-turn keeps the usage counted before; what is written after adds to it', async () => {
    writeFileSync(world.file, prompt('task') + line('msg_a'));
    // PreToolUse: the call that runs the tool is counted before the tool runs.
    expect(await totals()).toEqual({ input: 100, output: 20, cache_read: 5, cache_creation: 10 });
    truncateSync(world.file, 0); // the tool: `: > "$TRANSCRIPT"`
    appendFileSync(world.file, line('msg_b', { o: 30 }));
    expect(await totals()).toEqual({ input: 200, output: 50, cache_read: 10, cache_creation: 20 });
    const state = await world.store.read();
    expect(state.agents[0]!.usage!.rewinds).toBe(1);
    expect(world.audit).toEqual([expect.objectContaining({ type: 'budget', action: 'transcript_rewound', agent: 'Agent_1', how: 'shrank' })]);
  });

  it("a PreToolUse count waits for the call's line when the hook runs before Claude Code wrote it, so a tool that empties the transcript erases nothing uncounted", async () => {
    writeFileSync(world.file, prompt('task'));
    const toolUse = JSON.stringify({
      type: 'assistant',
      requestId: 'req_c',
      message: {
        id: 'msg_c',
        model: MODEL,
        role: 'assistant',
        content: [{ type: 'tool_use', id: 'toolu_erase', name: 'Bash', input: {} }],
        usage: { input_tokens: 100, output_tokens: 20, cache_read_input_tokens: 5, cache_creation_input_tokens: 10 },
      },
    });
    setTimeout(() => appendFileSync(world.file, toolUse + '\n'), 150);
    const counted = await world.ledger.count('Agent_1', 'toolu_erase');
    expect(counted!.byModel[MODEL]).toEqual({ input: 100, output: 20, cache_read: 5, cache_creation: 10 });
    truncateSync(world.file, 0); // the tool runs after the hook
    expect(await totals()).toEqual({ input: 100, output: 20, cache_read: 5, cache_creation: 10 });
  });

  it('an emptied transcript counts nothing less, even when nothing new was written', async () => {
    writeFileSync(world.file, line('msg_a') + line('msg_b'));
    const before = await totals();
    truncateSync(world.file, 0);
    expect(await totals()).toEqual(before);
    expect(before!.input).toBe(200);
  });

  it('a transcript rewritten with lower figures for the same calls lowers nothing', async () => {
    writeFileSync(world.file, line('msg_a', { i: 5000, o: 900 }) + line('msg_b', { i: 5000, o: 900 }));
    const before = await totals();
    // Same length or longer, other bytes: the beginning differs from what was counted.
    writeFileSync(world.file, line('msg_a', { i: 1, o: 1 }) + line('msg_b', { i: 1, o: 1 }) + prompt('padding '.repeat(40)));
    expect(await totals()).toEqual(before);
    expect((await world.store.read()).agents[0]!.usage!.rewinds).toBe(1);
    expect(world.audit[0]).toMatchObject({ how: 'rewritten' });
  });

  it('the lines of one call (text, then tool_use) count once; a later line of it reporting more adds only the difference', async () => {
    writeFileSync(world.file, line('msg_a', { o: 1 }));
    await totals();
    appendFileSync(world.file, line('msg_a', { o: 1 }) + line('msg_a', { o: 40 }) + line('msg_a', { o: 40 }));
    expect(await totals()).toEqual({ input: 100, output: 40, cache_read: 5, cache_creation: 10 });
  });

  it('a duplicated line, the same file read again, or a count by a restarted server counts nothing twice', async () => {
    const calls = RECENT_CALLS + 18; // more calls than the ledger remembers by id
    writeFileSync(world.file, Array.from({ length: calls }, (_, i) => line(`msg_${i}`)).join(''));
    expect((await totals())!.input).toBe(calls * 100);
    expect((await totals())!.input).toBe(calls * 100);
    // A new process: the cursor is in the state, not in memory.
    const again = new UsageLedger({ store: new StateStore(world.store.dir, jsonCodec), claudeConfigDir: world.config, log: silentLogger });
    appendFileSync(world.file, line(`msg_${calls - 1}`) + line('msg_new'));
    expect((await again.count('Agent_1'))!.byModel[MODEL]!.input).toBe((calls + 1) * 100);
  });

  it('a transcript shortened below what was counted keeps the count and counts the lines written after', async () => {
    writeFileSync(world.file, prompt('one') + line('msg_a') + prompt('two') + line('msg_b'));
    await totals();
    writeFileSync(world.file, prompt('one')); // cut back to its first line
    appendFileSync(world.file, line('msg_c'));
    expect((await totals())!.input).toBe(300);
  });

  it('a partial last line is counted once it is complete', async () => {
    const whole = line('msg_a');
    writeFileSync(world.file, whole.slice(0, 40));
    expect(await totals()).toBeUndefined();
    appendFileSync(world.file, whole.slice(40));
    expect((await totals())!.input).toBe(100);
  });

  it("calls are kept per model, synthetic lines cost nothing, and the current conversation's tokens are kept apart", async () => {
    writeFileSync(world.file, line('msg_a') + line('msg_b', {}, 'other-model') + line('msg_c', { i: 999 }, '<synthetic>'));
    const l = (await world.ledger.count('Agent_1'))!;
    expect(Object.keys(l.byModel).sort()).toEqual([MODEL, 'other-model']);
    expect(l.conversations[CONV]!.tokens.input).toBe(200);
  });

  it('an agent counted for the first time counts its earlier conversations once; a finished one is then let go', async () => {
    const past = '00000000-0000-4000-8000-0000000000aa';
    const w = await makeWorld({ pastClaudeSessionIds: [past] });
    writeFileSync(transcriptPath(w.config, w.root, past), line('msg_old', { i: 1000 }));
    writeFileSync(w.file, line('msg_now'));
    expect((await totals(w))!.input).toBe(1100);
    expect((await totals(w))!.input).toBe(1100);
    expect(Object.keys((await w.store.read()).agents[0]!.usage!.conversations)).toEqual([CONV]);
  });

  it('the meter reports the counted figures: emptying the transcript does not lower cost or tokens', async () => {
    const meter = new UsageMeter({ [MODEL]: { input: 2, output: 10, cache_read: 0.5, cache_write: 4 } }, world.ledger);
    writeFileSync(world.file, line('msg_a', { i: 10_000, o: 2_000, r: 5_000, w: 1_000 }));
    const agent = () => world.store.read().then((s) => s.agents[0]!);
    const before = await meter.agentUsage(await agent());
    truncateSync(world.file, 0);
    const after = await meter.agentUsage(await agent());
    expect(after).toEqual(before);
    expect(after).toMatchObject({ total_tokens: 18_000, cost_usd: 0.0465 });
  });
});
