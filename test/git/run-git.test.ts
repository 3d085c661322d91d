import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GitError, runGit } from '../../src/git/run-git.js';
import { bareGit, hostileRepo, type HostileRepo } from '../support/hostile-repo.js';

/*
 * Each vector is first shown live with git as tabcrew ran it before (bareGit: the server's
 * environment, no -c), then run through runGit, which must run none of the repository's programs.
 */

const made: string[] = [];
afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

let repo: HostileRepo;
beforeEach(() => {
  repo = hostileRepo();
  made.push(repo.dir);
});

const run = (args: string[], okCodes?: number[]) => runGit(args, { cwd: repo.root, purpose: 'test', okCodes });
/** Runs the control, checks the marker appeared, and clears the markers for the real run. */
function live(name: string, control: () => unknown): void {
  try {
    control();
  } catch {
    // a failing command may still have run the program: the marker decides
  }
  expect(repo.fired()).toContain(name);
  for (const f of readdirSync(repo.markers)) rmSync(join(repo.markers, f));
}

describe('runGit turns off what a repository can make git run', () => {
  it('core.fsmonitor in .git/config does not run on a status read', async () => {
    repo.config('core.fsmonitor', repo.marker('fsmonitor'));
    live('fsmonitor', () => bareGit(repo.root, ['status', '--porcelain']));
    await run(['status', '--porcelain']);
    expect(repo.fired()).toEqual([]);
  });

  it('hooks do not run: reference-transaction on a branch update, post-checkout on a checkout', async () => {
    repo.hook('reference-transaction');
    repo.hook('post-checkout');
    live('hook-reference-transaction', () => bareGit(repo.root, ['branch', 'control']));
    await run(['branch', 'mine']);
    await run(['checkout', '-q', 'mine']);
    expect(repo.fired()).toEqual([]);
    live('hook-post-checkout', () => bareGit(repo.root, ['checkout', '-q', 'main']));
  });

  it('core.sshCommand does not run, even where the repository allows ssh', async () => {
    repo.config('core.sshCommand', repo.marker('ssh'));
    repo.config('protocol.ssh.allow', 'always');
    live('ssh', () => bareGit(repo.root, ['ls-remote', 'ssh://git@example.invalid/x']));
    await expect(run(['ls-remote', 'ssh://git@example.invalid/x'])).rejects.toThrow(/transport 'ssh' not allowed/);
    expect(repo.fired()).toEqual([]);
  });

  it('diff.external does not run for a diff', async () => {
    repo.commit('README', 'hello again\n', 'second');
    repo.config('diff.external', repo.marker('external-diff'));
    live('external-diff', () => bareGit(repo.root, ['diff', 'HEAD~1', 'HEAD']));
    const { stdout } = await run(['diff', 'HEAD~1', 'HEAD']);
    expect(stdout).toContain('+hello again');
    expect(repo.fired()).toEqual([]);
  });

  it("a diff driver's textconv and command do not run for diff, show or log -p", async () => {
    repo.commit('.gitattributes', '* diff=evil\n', 'attributes');
    repo.commit('README', 'hello again\n', 'second');
    repo.config('diff.evil.textconv', repo.marker('textconv'));
    live('textconv', () => bareGit(repo.root, ['show', 'HEAD']));
    await run(['show', 'HEAD']);
    await run(['log', '-p', '-1']);
    await run(['diff', 'HEAD~1', 'HEAD']);
    expect(repo.fired()).toEqual([]);
    repo.config('diff.evil.command', repo.marker('driver-command'));
    live('driver-command', () => bareGit(repo.root, ['diff', 'HEAD~1', 'HEAD']));
    await run(['diff', 'HEAD~1', 'HEAD']);
    expect(repo.fired()).toEqual([]);
  });

  it('core.pager and pager.<cmd> do not run', async () => {
    // No control: git starts a pager only when its stdout is a terminal, which a pipe is not.
    repo.config('core.pager', repo.marker('pager'));
    repo.config('pager.log', repo.marker('pager-log'));
    const { stdout } = await run(['log', '--oneline']);
    expect(stdout).toMatch(/first/);
    expect(repo.fired()).toEqual([]);
  });

  it('a smudge filter does not run on a checkout, nor a clean filter on a status read', async () => {
    repo.commit('.gitattributes', '* filter=evil\n', 'attributes');
    repo.config('filter.evil.smudge', repo.marker('smudge', true));
    repo.config('filter.evil.clean', repo.marker('clean', true));
    repo.config('filter.evil.required', 'true');
    const other = join(repo.dir, 'other');
    live('smudge', () => bareGit(repo.root, ['worktree', 'add', '-q', other, 'HEAD']));
    await run(['worktree', 'add', '-q', '--detach', join(repo.dir, 'mine'), 'HEAD']);
    expect(readFileSync(join(repo.dir, 'mine', 'README'), 'utf8')).toBe('hello\n');
    expect(repo.fired()).toEqual([]);
    // Same size, new mtime: git must look at the content, through the clean filter.
    writeFileSync(join(repo.root, 'README'), 'HELLO\n');
    live('clean', () => bareGit(repo.root, ['status', '--porcelain']));
    writeFileSync(join(repo.root, 'README'), 'hullo\n');
    const { stdout } = await run(['status', '--porcelain']);
    expect(stdout).toContain('README');
    expect(repo.fired()).toEqual([]);
  });

  it("a submodule's own clean filter does not run on a status or diff read", async () => {
    const sub = join(repo.root, 'sub');
    mkdirSync(sub);
    const inSub = (args: string[]) => bareGit(sub, ['-c', 'core.hooksPath=/dev/null', ...args]);
    inSub(['init', '-q', '-b', 'main']);
    writeFileSync(join(sub, '.gitattributes'), '* filter=subevil\n');
    writeFileSync(join(sub, 'f'), 'x\n');
    inSub(['add', '.']);
    inSub(['-c', 'user.name=F', '-c', 'user.email=f@example.invalid', 'commit', '-q', '-m', 's']);
    bareGit(repo.root, ['-c', 'core.hooksPath=/dev/null', 'add', 'sub']);
    bareGit(repo.root, ['-c', 'core.hooksPath=/dev/null', 'commit', '-q', '-m', 'gitlink']);
    inSub(['config', 'filter.subevil.clean', repo.marker('sub-clean', true)]);
    writeFileSync(join(sub, 'f'), 'y\n'); // same size: git must read it, through the filter
    live('sub-clean', () => bareGit(repo.root, ['status', '--porcelain']));
    writeFileSync(join(sub, 'f'), 'z\n');
    await run(['status', '--porcelain']);
    await run(['diff', '--stat']);
    expect(repo.fired()).toEqual([]);
  });

  it('a filter process (long-running filter) does not run', async () => {
    repo.commit('.gitattributes', '* filter=lfsish\n', 'attributes');
    repo.config('filter.lfsish.process', repo.marker('process'));
    live('process', () => bareGit(repo.root, ['worktree', 'add', '-q', '--detach', join(repo.dir, 'other'), 'HEAD']));
    await run(['worktree', 'add', '-q', '--detach', join(repo.dir, 'mine'), 'HEAD']);
    expect(repo.fired()).toEqual([]);
  });

  it('a merge driver does not run: its paths are reported as a conflict', async () => {
    repo.commit('.gitattributes', '* merge=evil\n', 'attributes');
    repo.config('merge.evil.driver', `${repo.marker('merge-driver')} %O %A %B`);
    bareGit(repo.root, ['branch', 'side']);
    repo.commit('README', 'main side\n', 'main');
    bareGit(repo.root, ['checkout', '-q', 'side']);
    repo.commit('README', 'other side\n', 'side');
    bareGit(repo.root, ['checkout', '-q', 'main']);
    live('merge-driver', () => bareGit(repo.root, ['merge', '--no-edit', 'side']));
    bareGit(repo.root, ['merge', '--abort']);
    const r = await run(['merge', '--no-edit', 'side'], [1]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/CONFLICT/);
    expect(repo.fired()).toEqual([]);
  });

  it('commit.gpgSign does not run gpg.program', async () => {
    repo.config('commit.gpgSign', 'true');
    repo.config('gpg.program', repo.marker('gpg'));
    live('gpg', () => bareGit(repo.root, ['commit', '--allow-empty', '-q', '-m', 'control']));
    await run(['commit', '--allow-empty', '-q', '-m', 'mine']);
    expect(repo.fired()).toEqual([]);
  });

  it('a filter driver whose name holds "=" cannot be switched off, so nothing runs and the error says so', async () => {
    repo.config('filter.a=b.smudge', repo.marker('odd'));
    await expect(run(['status'])).rejects.toThrow(/filter driver named "a=b".*nothing was run/);
  });
});

describe('runGit gives git a minimal environment', () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  });

  it('git sees no TABCREW_* variable and no API key, and gets the lockdown on its command line', async () => {
    const bin = mkdtempSync(join(tmpdir(), 'tabcrew-fake-git-'));
    made.push(bin);
    const dump = join(bin, 'dump');
    writeFileSync(join(bin, 'git'), `#!/bin/sh\nenv > '${dump}.env'\nprintf '%s\\n' "$@" > '${dump}.argv'\n`);
    chmodSync(join(bin, 'git'), 0o755);
    process.env.TABCREW_STATE_KEY = 'k'.repeat(64);
    process.env.ANTHROPIC_API_KEY = 'sk-ant-api03-secret';
    process.env.GITHUB_TOKEN = 'ghp_secret';
    process.env.GIT_DIR = '/somewhere/else';
    process.env.PATH = `${bin}:${process.env.PATH}`;
    await runGit(['status'], { cwd: repo.root, purpose: 'test' });
    const env = readFileSync(`${dump}.env`, 'utf8');
    expect(env).not.toMatch(/TABCREW_|ANTHROPIC|GITHUB_TOKEN|GIT_DIR|secret/);
    expect(env).toMatch(/^GIT_TERMINAL_PROMPT=0$/m);
    expect(env).toMatch(/^GIT_ALLOW_PROTOCOL=$/m);
    const argv = readFileSync(`${dump}.argv`, 'utf8').split('\n');
    expect(argv).toEqual(expect.arrayContaining(['--no-pager', 'core.fsmonitor=false', 'core.hooksPath=/dev/null', 'core.sshCommand=false', 'status']));
  });

  it('a git that hangs is stopped at the timeout, and the error says how long it had', async () => {
    const bin = mkdtempSync(join(tmpdir(), 'tabcrew-slow-git-'));
    made.push(bin);
    writeFileSync(join(bin, 'git'), '#!/bin/sh\nexec sleep 30\n');
    chmodSync(join(bin, 'git'), 0o755);
    process.env.PATH = `${bin}:${process.env.PATH}`;
    const started = Date.now();
    await expect(runGit(['status'], { cwd: repo.root, purpose: 'read the status', timeoutMs: 300 })).rejects.toThrow(
      /git could not read the status: git config in .* took longer than 300 ms and was stopped/,
    );
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("a program a repository could still start would see the same environment (the control's fsmonitor saw the key)", async () => {
    process.env.TABCREW_STATE_KEY = 'k'.repeat(64);
    repo.config('core.fsmonitor', repo.marker('fsmonitor'));
    bareGit(repo.root, ['status']);
    expect(readFileSync(join(repo.markers, 'fsmonitor.env'), 'utf8')).toContain('TABCREW_STATE_KEY=');
  });
});

describe('runGit failures', () => {
  it('name the purpose, the subcommand and git’s message, not the environment', async () => {
    process.env.TABCREW_STATE_KEY = 'k'.repeat(64);
    const e = await runGit(['rev-parse', '--verify', 'no-such-branch'], { cwd: repo.root, purpose: 'find the base branch' }).catch((x: unknown) => x);
    delete process.env.TABCREW_STATE_KEY;
    expect(e).toBeInstanceOf(GitError);
    expect((e as GitError).message).toMatch(/^git could not find the base branch: git rev-parse in .* exited 128: fatal: Needed a single revision/);
    expect((e as GitError).message).not.toContain('k'.repeat(64));
  });

  it('outside a repository say so', async () => {
    const empty = join(repo.dir, 'empty');
    mkdirSync(empty);
    await expect(runGit(['status'], { cwd: empty, purpose: 'read the status' })).rejects.toThrow(
      /git could not read the status: git status in .* exited 128: fatal: not a git repository/,
    );
  });

  it('a global option in place of the subcommand is refused, so nothing can come after the lockdown and undo it', async () => {
    await expect(runGit(['-c', 'core.fsmonitor=x', 'status'], { cwd: repo.root, purpose: 't' })).rejects.toThrow(/needs a git subcommand first, not "-c"/);
    await expect(runGit([], { cwd: repo.root, purpose: 't' })).rejects.toThrow(/needs a git subcommand first/);
  });

  it('an okCode is an answer, and input reaches stdin', async () => {
    expect((await runGit(['rev-parse', '--verify', '--quiet', 'nope'], { cwd: repo.root, purpose: 't', okCodes: [1] })).code).toBe(1);
    const { stdout } = await runGit(['hash-object', '--stdin'], { cwd: repo.root, purpose: 't', input: 'hello\n' });
    expect(stdout.trim()).toBe('ce013625030ba8dba906f756967f9e9ca394464a');
  });
});

describe('the one way tabcrew runs git', () => {
  it('no file in src/ but git/run-git.ts starts a process named git', () => {
    const src = join(import.meta.dirname, '..', '..', 'src');
    const files = readdirSync(src, { recursive: true, encoding: 'utf8' }).filter((f) => /\.[cm]?[jt]s$/.test(f));
    const starters = files.filter((f) => {
      const text = readFileSync(join(src, f), 'utf8');
      return /child_process/.test(text) && /['"`]git['"`]/.test(text);
    });
    expect(starters).toEqual([join('git', 'run-git.ts')]);
  });
});
