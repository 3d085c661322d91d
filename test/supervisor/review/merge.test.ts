import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, commitAll, gitIn, world, write } from './review-world.js';

afterAll(cleanup);

/** An agent whose branch has one commit changing `path`. */
async function agentWithCommit(w: ReturnType<typeof world>, name: string, path: string, text: string) {
  const a = await w.addAgent(name);
  write(a.worktree!.path, path, text);
  commitAll(a.worktree!.path, `${name} writes ${path}`);
  return a;
}

const refs = (root: string) => gitIn(root, 'for-each-ref', '--format=%(refname) %(objectname)');

describe('merge_agent_work', () => {
  it("merges the agent's branch into main, the root's checkout follows, and other worktree agents now behind are told once", async () => {
    const w = world();
    const before = w.head();
    await agentWithCommit(w, 'Agent_1', 'src/app.txt', 'one\nTWO\nthree\n');
    const b = await agentWithCommit(w, 'Agent_2', 'b.txt', 'b\n');
    const r = await w.desk.merge('Agent_1', {});
    expect(r).toMatchObject({
      merged: true,
      base_branch: 'main',
      base_before: before,
      branch: 'tabcrew/Agent_1',
      root_checkout_updated: true,
      told_behind: ['Agent_2'],
    });
    expect(w.head()).toBe(r.commit);
    expect(gitIn(w.root, 'rev-list', '--parents', '-n1', 'main').split(' ')).toHaveLength(3);
    expect(readFileSync(join(w.root, 'src/app.txt'), 'utf8')).toBe('one\nTWO\nthree\n');
    expect(gitIn(w.root, 'status', '--porcelain')).toBe('');
    expect(r.files).toEqual([{ path: 'src/app.txt', status: 'M', added: 1, removed: 1 }]);
    expect(w.told).toEqual([{ agent: 'Agent_2', text: expect.stringContaining(`now at ${r.commit}`) }]);
    expect((await w.desk.changes(b.name)).commits_behind).toBe(2);
    expect(w.audit.map((e) => e.action)).toEqual(['queued', 'merged', 'told_behind']);
    expect(w.audit.find((e) => e.action === 'merged')).toMatchObject({ type: 'merge', agent: 'Agent_1', base_before: before, base_after: r.commit });
    expect((await w.desk.listMerges('s-1')).merges).toEqual([
      expect.objectContaining({ agent: 'Agent_1', state: 'done', base_before: before, base_after: r.commit, commit: r.commit }),
    ]);
  });

  it('a message that cannot be sent (rate limit) after main moved does not turn the landed merge into a refusal', async () => {
    const w = world({ tellFails: 'rate limit reached' });
    await agentWithCommit(w, 'Agent_1', 'a.txt', 'a\n');
    await agentWithCommit(w, 'Agent_2', 'b.txt', 'b\n');
    const r = await w.desk.merge('Agent_1', {});
    expect(r.merged).toBe(true);
    expect(w.head()).toBe(r.commit);
    expect(r.told_behind).toBeUndefined();
    expect(r.note).toMatch(/Agent_2 is behind main now but could not be told \(rate limit reached\)/);
  });

  it('squash makes one commit on main with the message given', async () => {
    const w = world();
    const before = w.head();
    await agentWithCommit(w, 'Agent_1', 'x.txt', 'x\n');
    const r = await w.desk.merge('Agent_1', { strategy: 'squash', message: 'Add x' });
    expect(gitIn(w.root, 'rev-list', '--parents', '-n1', 'main')).toBe(`${r.commit} ${before}`);
    expect(gitIn(w.root, 'log', '-1', '--format=%s')).toBe('Add x');
  });

  it('moves main without touching the checkout when the root is on another branch', async () => {
    const w = world();
    await agentWithCommit(w, 'Agent_1', 'x.txt', 'x\n');
    gitIn(w.root, 'checkout', '-q', '-b', 'elsewhere');
    const r = await w.desk.merge('Agent_1', {});
    expect(r.root_checkout_updated).toBeUndefined();
    expect(w.head('main')).toBe(r.commit);
    expect(existsSync(join(w.root, 'x.txt'))).toBe(false);
  });

  it('a conflict is refused naming the file, main untouched; ask_agent sends the agent the base commit and the files', async () => {
    const w = world();
    await agentWithCommit(w, 'Agent_1', 'src/app.txt', 'one\nFIRST\nthree\n');
    await agentWithCommit(w, 'Agent_2', 'src/app.txt', 'one\nSECOND\nthree\n');
    const first = await w.desk.merge('Agent_1', {});
    const snapshot = refs(w.root);
    w.told.length = 0;
    await expect(w.desk.merge('Agent_2', { on_conflict: 'ask_agent' })).rejects.toThrow(
      /conflicts with main .* in: src\/app.txt\. Nothing was merged; main is unchanged\. Agent_2 was asked/,
    );
    expect(refs(w.root)).toBe(snapshot);
    expect(w.head()).toBe(first.commit);
    expect(readFileSync(join(w.root, 'src/app.txt'), 'utf8')).toBe('one\nFIRST\nthree\n');
    expect(w.told).toEqual([{ agent: 'Agent_2', text: expect.stringMatching(new RegExp(`src/app.txt.*main is at ${first.commit}`)) }]);
    expect((await w.desk.listMerges('repo')).merges.at(-1)).toMatchObject({ agent: 'Agent_2', state: 'refused', conflicts: ['src/app.txt'] });
  }, 30_000);

  it('after the agent merges the base and resolves, the retry lands', async () => {
    const w = world();
    await agentWithCommit(w, 'Agent_1', 'src/app.txt', 'one\nFIRST\nthree\n');
    const b = await agentWithCommit(w, 'Agent_2', 'src/app.txt', 'one\nSECOND\nthree\n');
    const first = await w.desk.merge('Agent_1', {});
    await expect(w.desk.merge('Agent_2', {})).rejects.toThrow(/conflicts/);
    const wt = b.worktree!.path;
    try {
      gitIn(wt, 'merge', '-q', first.commit!);
    } catch {
      // the conflict the agent resolves
    }
    write(wt, 'src/app.txt', 'one\nFIRST and SECOND\nthree\n');
    commitAll(wt, 'resolve');
    const second = await w.desk.merge('Agent_2', {});
    expect(second.merged).toBe(true);
    expect(readFileSync(join(w.root, 'src/app.txt'), 'utf8')).toBe('one\nFIRST and SECOND\nthree\n');
  }, 30_000);

  it('dry_run reports what would happen and changes nothing', async () => {
    const w = world();
    await agentWithCommit(w, 'Agent_1', 'x.txt', 'x\n');
    const snapshot = refs(w.root);
    const r = await w.desk.merge('Agent_1', { dry_run: true });
    expect(r).toMatchObject({ merged: false, dry_run: true, files: [{ path: 'x.txt', status: 'A', added: 1, removed: 0 }] });
    expect(r.commit).toBeUndefined();
    expect(refs(w.root)).toBe(snapshot);
    expect(existsSync(join(w.root, 'x.txt'))).toBe(false);
  });

  it('refuses an agent that shares the session root, saying there is no branch to merge', async () => {
    const w = world();
    await w.addAgent('Agent_1', { worktree: false });
    await expect(w.desk.merge('Agent_1', {})).rejects.toThrow(/shares the session root.*no branch to merge.*isolation: "worktree"/);
    expect((await w.desk.listMerges('s-1')).merges[0]).toMatchObject({ state: 'refused' });
    expect(w.audit.at(-1)).toMatchObject({ type: 'merge', action: 'refused', agent: 'Agent_1' });
  });

  it('refuses an agent with no commits, saying it has to commit first', async () => {
    const w = world();
    await w.addAgent('Agent_1');
    await expect(w.desk.merge('Agent_1', {})).rejects.toThrow(/has no commits that main lacks.*commit its work on tabcrew\/Agent_1 first/);
  });

  it('refuses a deleted branch, saying what to do', async () => {
    const w = world();
    const a = await agentWithCommit(w, 'Agent_1', 'x.txt', 'x\n');
    gitIn(a.worktree!.path, 'checkout', '-q', '--detach');
    gitIn(w.root, 'branch', '-D', 'tabcrew/Agent_1');
    await expect(w.desk.merge('Agent_1', {})).rejects.toThrow(/tabcrew\/Agent_1 no longer exists.*Recreate it/);
  });

  it('refuses uncommitted work in the worktree by name; commit_uncommitted commits it as "Agent_N: …" and merges', async () => {
    const w = world();
    const a = await agentWithCommit(w, 'Agent_1', 'x.txt', 'x\n');
    write(a.worktree!.path, 'late.txt', 'late\n');
    const snapshot = refs(w.root);
    await expect(w.desk.merge('Agent_1', {})).rejects.toThrow(/uncommitted work: late\.txt\. Nothing was merged.*commit_uncommitted: true/);
    expect(refs(w.root)).toBe(snapshot);
    const r = await w.desk.merge('Agent_1', { commit_uncommitted: true });
    expect(r.committed_uncommitted).toMatchObject({ files: ['late.txt'] });
    expect(gitIn(a.worktree!.path, 'log', '-1', '--format=%s')).toMatch(/^Agent_1: /);
    expect(readFileSync(join(w.root, 'late.txt'), 'utf8')).toBe('late\n');
  });

  it("refuses when the root has main checked out with uncommitted changes, naming them; main and the root's files untouched", async () => {
    const w = world();
    await agentWithCommit(w, 'Agent_1', 'x.txt', 'x\n');
    write(w.root, 'README.md', 'my own edit\n');
    const snapshot = refs(w.root);
    await expect(w.desk.merge('Agent_1', {})).rejects.toThrow(/root has main checked out with uncommitted changes: README\.md/);
    expect(refs(w.root)).toBe(snapshot);
    expect(readFileSync(join(w.root, 'README.md'), 'utf8')).toBe('my own edit\n');
  });

  it('refuses when an untracked file in the root is in the way of a file the merge adds', async () => {
    const w = world();
    await agentWithCommit(w, 'Agent_1', 'x.txt', 'x\n');
    write(w.root, 'x.txt', 'mine\n');
    const snapshot = refs(w.root);
    await expect(w.desk.merge('Agent_1', {})).rejects.toThrow(/already has as untracked files: x\.txt/);
    expect(refs(w.root)).toBe(snapshot);
    expect(readFileSync(join(w.root, 'x.txt'), 'utf8')).toBe('mine\n');
  });

  it('two merges sent at once land one after the other, the second on top of the first', async () => {
    const w = world();
    const before = w.head();
    await agentWithCommit(w, 'Agent_1', 'a.txt', 'a\n');
    await agentWithCommit(w, 'Agent_2', 'b.txt', 'b\n');
    const [r1, r2] = await Promise.all([w.desk.merge('Agent_1', {}), w.desk.merge('Agent_2', {})]);
    expect(r1.base_before).toBe(before);
    expect(r2.base_before).toBe(r1.commit);
    expect(w.head()).toBe(r2.commit);
    expect(readFileSync(join(w.root, 'a.txt'), 'utf8')).toBe('a\n');
    expect(readFileSync(join(w.root, 'b.txt'), 'utf8')).toBe('b\n');
    const merges = (await w.desk.listMerges('s-1')).merges;
    expect(merges.map((m) => [m.agent, m.state])).toEqual([
      ['Agent_1', 'done'],
      ['Agent_2', 'done'],
    ]);
    expect(Date.parse(merges[1]!.started_at!)).toBeGreaterThanOrEqual(Date.parse(merges[0]!.finished_at!));
  });
});

describe('--merge-check', () => {
  it('a failing check refuses with its last lines and main stays where it was; no temporary worktree is left', async () => {
    const w = world({ mergeCheck: 'echo checking; test -f must-exist.txt || { echo "must-exist.txt is missing" >&2; exit 3; }' });
    await agentWithCommit(w, 'Agent_1', 'x.txt', 'x\n');
    const snapshot = refs(w.root);
    const temps = readdirSync(tmpdir()).filter((d) => d.startsWith('tabcrew-merge-check-')).length;
    await expect(w.desk.merge('Agent_1', {})).rejects.toThrow(/--merge-check .* failed \(exit 3\).*main is unchanged.*must-exist\.txt is missing/s);
    expect(refs(w.root)).toBe(snapshot);
    expect(existsSync(join(w.root, 'x.txt'))).toBe(false);
    expect(gitIn(w.root, 'worktree', 'list').split('\n')).toHaveLength(2); // the root and Agent_1's
    expect(readdirSync(tmpdir()).filter((d) => d.startsWith('tabcrew-merge-check-')).length).toBe(temps);
    expect(w.audit.find((e) => e.action === 'check')).toMatchObject({ passed: false, exit_code: 3 });
  });

  it('a passing check runs in the merged tree with a small environment (no state key or API key), then main moves', async () => {
    const saved = { ...process.env };
    process.env.TABCREW_STATE_KEY = 'k'.repeat(64);
    process.env.ANTHROPIC_API_KEY = 'sk-ant-api03-secret';
    try {
      const w = world({ mergeCheck: 'test -f x.txt && env' });
      await agentWithCommit(w, 'Agent_1', 'x.txt', 'x\n');
      const r = await w.desk.merge('Agent_1', {});
      expect(r.merged).toBe(true);
      expect(r.check).toMatchObject({ passed: true, exit_code: 0 });
      expect(r.check!.tail).toContain('CI=1');
      expect(r.check!.tail).not.toMatch(/TABCREW_STATE_KEY|ANTHROPIC_API_KEY|sk-ant/);
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  });
});
