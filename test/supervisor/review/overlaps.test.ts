import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { agentDirFor } from '../../../src/claude/launch.js';
import { toHookRecord } from '../../../src/claude/hook-record.js';
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

  it('an agent whose branch is gone is left out rather than failing the status', async () => {
    const w = world();
    const a = await w.addAgent('Agent_1');
    await w.addAgent('Agent_2');
    w.state.agents[0]!.worktree!.base = 'no-such-branch';
    write(a.worktree!.path, 'README.md', 'a\n');
    expect(await w.desk.overlaps(w.session, w.state.agents)).toEqual([]);
  });
});
