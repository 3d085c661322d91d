import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { agentDirFor } from '../../../src/claude/launch.js';
import { toHookRecord } from '../../../src/claude/hook-record.js';
import { WrittenFiles } from '../../../src/supervisor/review/hook-files.js';
import { until } from '../../support/until.js';
import { cleanup, commitAll, world, write } from './review-world.js';

afterAll(cleanup);

describe('overlaps', () => {
  it('lists a path two agents changed — a committed change, an uncommitted one, and a root-sharing agent by its hooks — and not paths only one changed', async () => {
    const w = world();
    const a = await w.addAgent('Agent_1');
    const b = await w.addAgent('Agent_2');
    const c = await w.addAgent('Agent_3', { worktree: false });
    write(a.worktree!.path, 'src/app.txt', 'a\n');
    commitAll(a.worktree!.path, 'a');
    write(a.worktree!.path, 'only-a.txt', 'a\n');
    write(b.worktree!.path, 'src/app.txt', 'b\n');
    write(b.worktree!.path, 'README.md', 'b\n');
    const dir = agentDirFor(w.runtimeDir, c.claudeSessionId!);
    mkdirSync(dir, { recursive: true });
    const post = {
      hook_event_name: 'PostToolUse',
      session_id: c.claudeSessionId,
      tool_name: 'Write',
      tool_input: { file_path: join(w.root, 'README.md'), content: 'c' },
    };
    writeFileSync(join(dir, 'events.jsonl'), JSON.stringify(toHookRecord(post)) + '\n');

    const before = Date.now();
    const o = await w.desk.overlaps(w.session, w.state.agents);
    expect(o.map(({ path, agents }) => ({ path, agents }))).toEqual([
      { path: 'README.md', agents: ['Agent_2', 'Agent_3'] },
      { path: 'src/app.txt', agents: ['Agent_1', 'Agent_2'] },
    ]);
    expect(Date.parse(o[0]!.since)).toBeGreaterThanOrEqual(before - 1000);
  });

  it('a new overlap is announced once per pair and path: listeners hear it, the audit log has it, and each agent is told the file and the other agent', async () => {
    const w = world();
    const a = await w.addAgent('Agent_1');
    const b = await w.addAgent('Agent_2');
    const heard: unknown[] = [];
    w.desk.onOverlap((o) => heard.push(o));
    write(a.worktree!.path, 'src/app.txt', 'a\n');
    write(b.worktree!.path, 'src/app.txt', 'b\n');
    await w.desk.overlaps(w.session, w.state.agents);
    await until('both told', async () => (w.told.length === 2 ? true : undefined));
    expect(heard).toEqual([{ session_id: 's-1', path: 'src/app.txt', agents: ['Agent_1', 'Agent_2'], since: expect.any(String) }]);
    expect(w.told).toEqual([
      { agent: 'Agent_1', text: expect.stringMatching(/^Agent_2 has also changed src\/app\.txt\./) },
      { agent: 'Agent_2', text: expect.stringMatching(/^Agent_1 has also changed src\/app\.txt\./) },
    ]);
    expect(w.audit).toContainEqual({ type: 'overlap', session: 's-1', path: 'src/app.txt', agents: ['Agent_1', 'Agent_2'] });
    // Past the cache: read again, nothing new to announce.
    await new Promise((r) => setTimeout(r, 3100));
    expect(await w.desk.overlaps(w.session, w.state.agents)).toHaveLength(1);
    expect(heard).toHaveLength(1);
    expect(w.told).toHaveLength(2);
  });

  it("a root-sharing agent's writes are read as its hooks append them: a later write counts, an earlier one stays when its spool is replaced", async () => {
    const w = world();
    const agents = [await w.addAgent('Agent_1', { worktree: false }), await w.addAgent('Agent_2', { worktree: false })];
    const spool = (a: (typeof agents)[number]): string => join(agentDirFor(w.runtimeDir, a.claudeSessionId!), 'events.jsonl');
    const wrote = (a: (typeof agents)[number], file: string): string =>
      JSON.stringify(
        toHookRecord({ hook_event_name: 'PostToolUse', session_id: a.claudeSessionId, tool_name: 'Edit', tool_input: { file_path: join(w.root, file) } }),
      ) + '\n';
    for (const a of agents) mkdirSync(dirname(spool(a)), { recursive: true });
    writeFileSync(spool(agents[0]!), wrote(agents[0]!, 'a.txt'));
    writeFileSync(spool(agents[1]!), wrote(agents[1]!, 'b.txt'));
    const written = new WrittenFiles(w.runtimeDir);
    expect((await written.of(agents[0]!, w.root)).map((f) => f.path)).toEqual(['a.txt']);
    appendFileSync(spool(agents[0]!), wrote(agents[0]!, 'b.txt'));
    expect((await written.of(agents[0]!, w.root)).map((f) => f.path)).toEqual(['a.txt', 'b.txt']);
    expect((await w.desk.overlaps(w.session, w.state.agents)).map(({ path, agents }) => ({ path, agents }))).toEqual([
      { path: 'b.txt', agents: ['Agent_1', 'Agent_2'] },
    ]);
    // A relaunch starts the spool again: what the agent wrote before it is still its change.
    writeFileSync(spool(agents[0]!), wrote(agents[0]!, 'c.txt'));
    expect((await written.of(agents[0]!, w.root)).map((f) => f.path)).toEqual(['a.txt', 'b.txt', 'c.txt']);
  });

  it('an agent whose branch is gone is left out rather than failing the status', async () => {
    const w = world();
    const a = await w.addAgent('Agent_1');
    await w.addAgent('Agent_2');
    w.state.agents[0]!.worktree!.base = 'no-such-branch';
    write(a.worktree!.path, 'README.md', 'a\n');
    expect(await w.desk.overlaps(w.session, w.state.agents)).toEqual([]);
  });
});
