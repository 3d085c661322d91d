import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { agentDirFor } from '../../../src/claude/launch.js';
import { toHookRecord } from '../../../src/claude/hook-record.js';
import { cleanup, commitAll, gitIn, world, write } from './review-world.js';

afterAll(cleanup);

describe('get_agent_changes of a worktree agent', () => {
  it('lists committed and uncommitted files against where its branch left main, with +/- and commits ahead and behind', async () => {
    const w = world();
    const a = await w.addAgent('Agent_1');
    const wt = a.worktree!.path;
    write(wt, 'src/app.txt', 'one\nTWO\nthree\nfour\n');
    const base = w.head();
    commitAll(wt, 'agent edits app');
    write(wt, 'README.md', 'hello agent\n');
    write(wt, 'notes/new.txt', 'new\n');
    // main moves on after the branch left it
    write(w.root, 'other.txt', 'x\n');
    commitAll(w.root, 'main moves');

    const c = await w.desk.changes('Agent_1');
    expect(c).toMatchObject({
      isolation: 'worktree',
      base_branch: 'main',
      base_commit: w.head(),
      merge_base: base,
      branch: 'tabcrew/Agent_1',
      commits_ahead: 1,
      commits_behind: 1,
      uncommitted: ['README.md', 'notes/new.txt'],
    });
    expect(c.files).toEqual([
      { path: 'README.md', status: 'M', added: 1, removed: 1, committed: false },
      { path: 'notes/new.txt', status: '?', added: null, removed: null, committed: false },
      { path: 'src/app.txt', status: 'M', added: 2, removed: 1, committed: true },
    ]);
    expect(c.patch).toBeUndefined();
  });

  it('patch: true adds the unified diff, new files included; path narrows it to one file', async () => {
    const w = world();
    const a = await w.addAgent('Agent_1');
    write(a.worktree!.path, 'src/app.txt', 'one\nTWO\nthree\n');
    write(a.worktree!.path, 'fresh.txt', 'brand new\n');
    const all = await w.desk.changes('Agent_1', { patch: true });
    expect(all.patch).toContain('-two\n+TWO');
    expect(all.patch).toContain('+brand new');
    const one = await w.desk.changes('Agent_1', { patch: true, path: 'src/app.txt' });
    expect(one.files.map((f) => f.path)).toEqual(['src/app.txt']);
    expect(one.patch).toContain('+TWO');
    expect(one.patch).not.toContain('brand new');
  });

  it('a patch longer than max_bytes is cut at a line end and marked truncated', async () => {
    const w = world();
    const a = await w.addAgent('Agent_1');
    write(a.worktree!.path, 'big.txt', 'line of text\n'.repeat(5000));
    commitAll(a.worktree!.path, 'big');
    const c = await w.desk.changes('Agent_1', { patch: true, max_bytes: 1000 });
    expect(c.truncated).toBe(true);
    expect(Buffer.byteLength(c.patch!)).toBeLessThanOrEqual(1000);
    expect(c.patch!.endsWith('\n')).toBe(true);
  });

  it('a new file larger than max_bytes is not read into the patch, which says it was cut', async () => {
    const w = world();
    const a = await w.addAgent('Agent_1');
    write(a.worktree!.path, 'small.txt', 'small\n');
    write(a.worktree!.path, 'zz-huge.txt', 'x'.repeat(20_000_000));
    const c = await w.desk.changes('Agent_1', { patch: true, max_bytes: 4096 });
    expect(c.truncated).toBe(true);
    expect(c.patch).toContain('+small');
    expect(c.patch).not.toContain('xxxx');
  });

  it('a path that is absolute, leads outside, or looks like an option or pathspec magic is refused or taken literally', async () => {
    const w = world();
    await w.addAgent('Agent_1');
    await expect(w.desk.changes('Agent_1', { path: '/etc/passwd' })).rejects.toThrow(/is absolute/);
    await expect(w.desk.changes('Agent_1', { path: '../../x' })).rejects.toThrow(/leads outside/);
    await expect(w.desk.changes('Agent_1', { path: '.git/config' })).rejects.toThrow(/git's own folder/);
    // Taken as file names, not as an option or a glob: nothing matches, nothing fails.
    expect((await w.desk.changes('Agent_1', { path: '--output=/tmp/x' })).files).toEqual([]);
    expect((await w.desk.changes('Agent_1', { path: '*' })).files).toEqual([]);
    expect((await w.desk.changes('Agent_1', { path: ':(top)src' })).files).toEqual([]);
  });

  it('a deleted branch is refused with what to do', async () => {
    const w = world();
    const a = await w.addAgent('Agent_1');
    gitIn(a.worktree!.path, 'checkout', '-q', '--detach');
    gitIn(w.root, 'branch', '-D', 'tabcrew/Agent_1');
    await expect(w.desk.changes('Agent_1')).rejects.toThrow(/branch tabcrew\/Agent_1 no longer exists.*Recreate it/);
  });

  it('an older record without a base falls back to the root branch and says so', async () => {
    const w = world();
    const a = await w.addAgent('Agent_1');
    delete w.state.agents[0]!.worktree!.base;
    write(a.worktree!.path, 'x.txt', 'x\n');
    commitAll(a.worktree!.path, 'x');
    const c = await w.desk.changes('Agent_1');
    expect(c).toMatchObject({ base_branch: 'main', commits_ahead: 1 });
    expect(c.note).toMatch(/predates recorded base branches/);
  });
});

describe('get_agent_changes of an agent that shares the session root', () => {
  it("lists the files its Write/Edit hooks recorded, with their diff against HEAD, attributed_by hooks; other agents' files are not its own", async () => {
    const w = world();
    const a = await w.addAgent('Agent_1', { worktree: false });
    const b = await w.addAgent('Agent_2', { worktree: false });
    const spool = (id: string, records: Record<string, unknown>[]) => {
      const dir = agentDirFor(w.runtimeDir, id);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'events.jsonl'), records.map((r) => JSON.stringify(toHookRecord(r, 1_700_000_000_000))).join('\n') + '\n');
    };
    const post = (id: string, tool: string, input: Record<string, unknown>) => ({
      hook_event_name: 'PostToolUse',
      session_id: id,
      tool_name: tool,
      tool_input: input,
    });
    spool(a.claudeSessionId!, [
      post(a.claudeSessionId!, 'Edit', { file_path: join(w.root, 'src/app.txt'), old_string: 'two', new_string: 'TWO' }),
      post(a.claudeSessionId!, 'Write', { file_path: join(w.root, 'made.txt'), content: 'made\n' }),
      post(a.claudeSessionId!, 'Read', { file_path: join(w.root, 'README.md') }),
      post(a.claudeSessionId!, 'Write', { file_path: '/etc/elsewhere', content: '' }),
    ]);
    spool(b.claudeSessionId!, [post(b.claudeSessionId!, 'Write', { file_path: join(w.root, 'README.md'), content: 'b\n' })]);
    write(w.root, 'src/app.txt', 'one\nTWO\nthree\n');
    write(w.root, 'made.txt', 'made\n');
    write(w.root, 'README.md', 'b\n');

    const c = await w.desk.changes('Agent_1', { patch: true });
    expect(c).toMatchObject({ isolation: 'none', attributed_by: 'hooks', base_branch: 'main', uncommitted: ['src/app.txt', 'made.txt'] });
    expect(c.files.map((f) => [f.path, f.status, f.added, f.removed])).toEqual([
      ['src/app.txt', 'M', 1, 1],
      ['made.txt', '?', null, null],
    ]);
    expect(c.patch).toContain('+TWO');
    expect(c.patch).not.toContain('+b');
    expect(c.note).not.toMatch(/predates/);
  });
});
