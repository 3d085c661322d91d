import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { addWorktree, checkRemovable, removeWorktree, worktreeStatus } from '../../src/supervisor/worktrees.js';
import { hostileRepo } from '../support/hostile-repo.js';

/*
 * The red team's scenario at the supervisor's own functions: an agent has made the session
 * root's repository hostile (fsmonitor, hooks, filters in .git/config), then tabcrew creates
 * a worktree agent (create_agent isolation: "worktree" → addWorktree) and reads its git
 * state (get_session_status → keeper.statusExtras → worktreeStatus). Nothing may run.
 */

const made: string[] = [];
afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

function hostile() {
  const repo = hostileRepo();
  made.push(repo.dir);
  repo.commit('.gitattributes', '* filter=evil\n', 'attributes');
  repo.config('core.fsmonitor', repo.marker('fsmonitor'));
  repo.config('filter.evil.smudge', repo.marker('smudge', true));
  repo.config('filter.evil.clean', repo.marker('clean', true));
  repo.hook('post-checkout');
  repo.hook('reference-transaction');
  return repo;
}

describe('worktree agents in a hostile repository', () => {
  it('create_agent isolation "worktree" runs no fsmonitor, post-checkout or reference-transaction hook and no smudge filter', async () => {
    const repo = hostile();
    const tree = await addWorktree(repo.root, 'Agent_1');
    expect(readFileSync(join(tree.path, 'README'), 'utf8')).toBe('hello\n');
    expect(tree).toMatchObject({ branch: 'tabcrew/Agent_1', base: 'main', reused_branch: false });
    expect(repo.fired()).toEqual([]);
  });

  it("get_session_status's read of a worktree agent runs no fsmonitor and no clean filter", async () => {
    const repo = hostile();
    const tree = await addWorktree(repo.root, 'Agent_1');
    // Same size, new content: git must read the file, which it would do through the clean filter.
    writeFileSync(join(tree.path, 'README'), 'HELLO\n');
    writeFileSync(join(tree.path, 'new.txt'), 'x');
    const status = await worktreeStatus({ path: tree.path, branch: tree.branch, base: tree.base });
    expect(status).toEqual({ path: tree.path, branch: 'tabcrew/Agent_1', commits_ahead: 0, dirty_files: 2, exists: true });
    await checkRemovable('Agent_1', tree, false).catch(() => undefined);
    await removeWorktree(repo.root, tree, { force: true, deleteBranch: true });
    expect(repo.fired()).toEqual([]);
  });

  describe('environment', () => {
    const saved = { ...process.env };
    afterEach(() => {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    });

    it('the git of worktree creation and of the status read goes through the runner: no TABCREW_* or API key, lockdown on its command line', async () => {
      const repo = hostile();
      const bin = mkdtempSync(join(tmpdir(), 'tabcrew-fake-git-'));
      made.push(bin);
      const log = join(bin, 'calls');
      mkdirSync(log);
      // Answers like git enough for addWorktree (a top level, a branch) and records every call.
      writeFileSync(
        join(bin, 'git'),
        `#!/bin/sh\nn=$(ls '${log}' | wc -l)\nenv > '${log}'/$n.env\nprintf '%s\\n' "$@" > '${log}'/$n.argv\n` +
          `case "$*" in *--show-toplevel*) echo '${repo.root}';; *symbolic-ref*) echo main;; *--git-common-dir*) echo .git;; *--verify*) exit 1;; esac\n`,
      );
      chmodSync(join(bin, 'git'), 0o755);
      process.env.TABCREW_STATE_KEY = 'k'.repeat(64);
      process.env.ANTHROPIC_API_KEY = 'sk-ant-api03-secret';
      process.env.PATH = `${bin}:${process.env.PATH}`;
      const tree = await addWorktree(repo.root, 'Agent_1');
      mkdirSync(tree.path, { recursive: true }); // the fake git made nothing
      await worktreeStatus({ path: tree.path, branch: tree.branch, base: tree.base });
      const calls = readdirSync(log).filter((f) => f.endsWith('.argv'));
      const argvs = calls.map((f) => readFileSync(join(log, f), 'utf8').split('\n'));
      expect(argvs.some((a) => a.includes('worktree') && a.includes('add'))).toBe(true);
      expect(argvs.some((a) => a.includes('status'))).toBe(true);
      for (const a of argvs) expect(a).toEqual(expect.arrayContaining(['core.fsmonitor=false', 'core.hooksPath=/dev/null']));
      for (const f of calls) expect(readFileSync(join(log, f.replace('.argv', '.env')), 'utf8')).not.toMatch(/TABCREW_|ANTHROPIC|secret/);
    });
  });
});

describe('worktree agents and symbolic links', () => {
  it('a .tabcrew that is a symbolic link is refused, naming it and what to do; nothing is made where it points', async () => {
    const repo = hostileRepo();
    made.push(repo.dir);
    const outside = join(repo.dir, 'outside');
    mkdirSync(outside);
    symlinkSync(outside, join(repo.root, '.tabcrew'));
    await expect(addWorktree(repo.root, 'Agent_1')).rejects.toThrow(
      /\.tabcrew is a symbolic link; .*nothing was created\. Remove .*\.tabcrew and create the agent again, or create it without isolation/,
    );
    expect(readdirSync(outside)).toEqual([]);
  });

  it('so is a .tabcrew/worktrees that is a symbolic link', async () => {
    const repo = hostileRepo();
    made.push(repo.dir);
    const outside = join(repo.dir, 'outside');
    mkdirSync(outside);
    mkdirSync(join(repo.root, '.tabcrew'));
    symlinkSync(outside, join(repo.root, '.tabcrew', 'worktrees'));
    await expect(addWorktree(repo.root, 'Agent_1')).rejects.toThrow(/worktrees is a symbolic link/);
    expect(readdirSync(outside)).toEqual([]);
  });

  it('a symbolic link in place of .git/info/exclude is not written through: refused, its target unchanged', async () => {
    const repo = hostileRepo();
    made.push(repo.dir);
    const target = join(repo.dir, 'precious');
    writeFileSync(target, 'do not touch\n');
    mkdirSync(join(repo.root, '.git', 'info'), { recursive: true });
    rmSync(join(repo.root, '.git', 'info', 'exclude'), { force: true });
    symlinkSync(target, join(repo.root, '.git', 'info', 'exclude'));
    await expect(addWorktree(repo.root, 'Agent_1')).rejects.toThrow(
      /exclude is a symbolic link, and tabcrew does not write through links; nothing was created\. Replace it with a plain file/,
    );
    expect(readFileSync(target, 'utf8')).toBe('do not touch\n');
    expect(existsSync(join(repo.root, '.tabcrew'))).toBe(false);
  });

  it('so is a symbolic link in place of .git/info', async () => {
    const repo = hostileRepo();
    made.push(repo.dir);
    const elsewhere = join(repo.dir, 'elsewhere');
    mkdirSync(elsewhere);
    rmSync(join(repo.root, '.git', 'info'), { recursive: true, force: true });
    symlinkSync(elsewhere, join(repo.root, '.git', 'info'));
    await expect(addWorktree(repo.root, 'Agent_1')).rejects.toThrow(/info is a symbolic link.*Replace it with a plain folder/);
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  it('a plain exclude file gets the line once', async () => {
    const repo = hostileRepo();
    made.push(repo.dir);
    await addWorktree(repo.root, 'Agent_1');
    await addWorktree(repo.root, 'Agent_2');
    const exclude = join(repo.root, '.git', 'info', 'exclude');
    expect(lstatSync(exclude).isFile()).toBe(true);
    expect(readFileSync(exclude, 'utf8').match(/^\/\.tabcrew\/$/gm)).toHaveLength(1);
  });
});
