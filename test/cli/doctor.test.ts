import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isolated, REPO, runCli, testEnv } from './run-cli.js';

const home = mkdtempSync(join(tmpdir(), 'tabcrew-doctor-home-'));
const dirs = isolated();
const claude = 'node_modules/.bin/claude';
const tmuxPath = execFileSync('sh', ['-c', 'command -v tmux'], { encoding: 'utf8' }).trim();

// A PATH with tmux and nothing else of ours: whether claude is installed on this machine
// or not, it is not on this PATH.
const bin = join(home, 'bin');
mkdirSync(bin);
symlinkSync(tmuxPath, join(bin, 'tmux'));
const noClaudeEnv = testEnv(home, { PATH: bin });
const env = testEnv(home);

afterAll(() => {
  rmSync(home, { recursive: true, force: true });
  rmSync(dirs.base, { recursive: true, force: true });
});

interface Check {
  check: string;
  status: string;
  detail: string;
  fix?: string;
}
const byName = (checks: Check[]) => Object.fromEntries(checks.map((c) => [c.check, c]));

describe('tabcrew doctor', () => {
  it('passes on this machine: node, tmux, claude and every flag tabcrew passes, writable dirs', async () => {
    const r = await runCli(['doctor', '--json', '--claude-path', claude, ...dirs.flags], env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { ok: boolean; checks: Check[] };
    expect(out.ok).toBe(true);
    const c = byName(out.checks);
    expect(c.node.status).toBe('ok');
    expect(c.tmux).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^tmux \d+\.\d+/) });
    expect(c['tmux server'].detail).toContain(`"${dirs.socket}" not running`);
    expect(c.iTerm2.status).toBe(process.platform === 'darwin' ? expect.any(String) : 'n/a');
    expect(c.claude).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^\d+\.\d+\.\d+ \(Claude Code\)/) });
    expect(c['claude flags']).toMatchObject({ status: 'ok' });
    expect(c['claude version']).toMatchObject({ status: 'ok', detail: expect.stringMatching(/is verified with tabcrew \(verified: 2\.1\.197, /) });
    for (const flag of ['--session-id', '--resume', '--name', '--append-system-prompt', '--settings', '--model', '--permission-mode']) {
      expect(c['claude flags'].detail).toContain(flag);
    }
    for (const d of ['state dir', 'log dir', 'runtime dir']) expect(c[d].status).toBe('ok');
  });

  it('prints a CHECK STATUS DETAIL/FIX table', async () => {
    const r = await runCli(['doctor', '--claude-path', claude, ...dirs.flags], env);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/^CHECK\s+STATUS\s+DETAIL\/FIX$/);
    expect(r.stdout).toMatch(/^claude\s+ok\s+\d+\.\d+\.\d+ \(Claude Code\)/m);
    expect(r.stdout).toMatch(/all checks passed\n$/);
  });

  it('finds the Claude Code npm install put in the checkout when none is on PATH, and says so', async () => {
    const r = await runCli(['doctor', '--json', ...dirs.flags], noClaudeEnv);
    const c = byName((JSON.parse(r.stdout) as { checks: Check[] }).checks);
    expect(c.claude.status, c.claude.detail).toBe('ok');
    expect(c.claude.detail).toContain(`${join(REPO, 'node_modules', '.bin', 'claude')}; no claude on PATH, so this checkout's own`);
    expect(c['claude flags'].status).toBe('ok');
  });

  it('fails for a --claude-path that is not there, and names every way to point at one', async () => {
    const r = await runCli(['doctor', '--claude-path', join(home, 'no-such-claude'), ...dirs.flags], noClaudeEnv);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^claude\s+FAIL\s+Claude Code was not found: .*no-such-claude is not an executable file$/m);
    expect(r.stdout).toMatch(
      /^\s+fix: npm install -g @anthropic-ai\/claude-code, or run npm install in .*--claude-path \/path\/to\/claude \(or TABCREW_CLAUDE_PATH=/m,
    );
    expect(r.stdout).toMatch(/^claude flags\s+skipped/m);
    expect(r.stdout).toMatch(/^tmux\s+ok/m);
  });

  it('fails when claude lacks a flag tabcrew passes, naming the flag', async () => {
    const old = join(home, 'old-claude');
    writeFileSync(
      old,
      '#!/bin/sh\ncase "$1" in\n  --version) echo "1.0.0 (Claude Code)";;\n  --help) echo "  -r, --resume [value]  resume"; echo "  --session-id <uuid>"; echo "  -n, --name <name>"; echo "  --append-system-prompt <p>"; echo "  --settings <file>"; echo "  --model <m>"; echo "  --permission-mode-x <m>";;\nesac\n',
    );
    chmodSync(old, 0o755);
    const r = await runCli(['doctor', '--json', '--claude-path', old, ...dirs.flags], env);
    expect(r.code).toBe(1);
    const c = byName((JSON.parse(r.stdout) as { checks: Check[] }).checks);
    expect(c.claude.status).toBe('ok');
    expect(c['claude flags']).toMatchObject({ status: 'fail', fix: expect.stringContaining('npm install -g @anthropic-ai/claude-code') });
    expect(c['claude flags'].detail).toContain('does not list --permission-mode,');
  });

  it('warns, without failing, about a Claude Code version tabcrew was not verified with, naming the verified ones', async () => {
    const other = join(home, 'other-claude');
    const flags = [
      '-r, --resume [value]',
      '--session-id <uuid>',
      '-n, --name <name>',
      '--append-system-prompt <p>',
      '--settings <file>',
      '--model <m>',
      '--permission-mode <m>',
    ];
    writeFileSync(
      other,
      `#!/bin/sh\ncase "$1" in\n  --version) echo "9.9.9 (Claude Code)";;\n  --help) printf '  %s\\n' ${flags.map((f) => `'${f}'`).join(' ')};;\nesac\n`,
    );
    chmodSync(other, 0o755);
    const r = await runCli(['doctor', '--json', '--claude-path', other, ...dirs.flags], env);
    const c = byName((JSON.parse(r.stdout) as { checks: Check[] }).checks);
    expect(c['claude flags'].status, c['claude flags'].detail).toBe('ok');
    expect(r.code).toBe(0);
    expect(c['claude version']).toMatchObject({
      status: 'warn',
      detail: expect.stringContaining('9.9.9 is not among the versions tabcrew was verified with (2.1.197, '),
    });
    expect(c['claude version'].fix).toMatch(/npm install -g @anthropic-ai\/claude-code@\d+\.\d+\.\d+/);
  });

  it('warns about an ANTHROPIC_API_KEY Claude Code has not approved, before any agent meets its question', async () => {
    const keyHome = mkdtempSync(join(tmpdir(), 'tabcrew-doctor-key-'));
    try {
      const key = 'sk-ant-doctor-0123456789abcdefghij';
      const config = (approved: string[]) =>
        writeFileSync(join(keyHome, '.claude.json'), JSON.stringify({ hasCompletedOnboarding: true, customApiKeyResponses: { approved, rejected: [] } }));
      const doctor = async () => {
        const r = await runCli(['doctor', '--json', '--claude-path', claude, ...dirs.flags], testEnv(keyHome, { ANTHROPIC_API_KEY: key }));
        expect(r.code, r.stdout + r.stderr).toBe(0);
        return byName((JSON.parse(r.stdout) as { checks: Check[] }).checks);
      };
      config([]);
      let c = await doctor();
      expect(c['claude setup'].status).toBe('ok');
      expect(c['claude api key']).toMatchObject({
        status: 'warn',
        detail: expect.stringContaining('Do you want to use this API key?'),
        fix: expect.stringContaining('--no-accept-api-key'),
      });
      expect(JSON.stringify(c)).not.toContain(key.slice(-20));
      config([key.slice(-20)]);
      c = await doctor();
      expect(c['claude api key'].status).toBe('ok');
    } finally {
      rmSync(keyHome, { recursive: true, force: true });
    }
  });

  it('does not warn about a first-run setup never completed when ANTHROPIC_API_KEY is there: serve completes it with the key', async () => {
    const keyHome = mkdtempSync(join(tmpdir(), 'tabcrew-doctor-setup-'));
    try {
      const r = await runCli(
        ['doctor', '--json', '--claude-path', claude, ...dirs.flags],
        testEnv(keyHome, { ANTHROPIC_API_KEY: 'sk-ant-doctor-0123456789abcdefghij' }),
      );
      const c = byName((JSON.parse(r.stdout) as { checks: Check[] }).checks);
      expect(c['claude setup']).toMatchObject({ status: 'ok', detail: expect.stringContaining('tabcrew serve records it as completed') });
    } finally {
      rmSync(keyHome, { recursive: true, force: true });
    }
  });

  it("warns when Claude Code's first-run setup was never completed for this user", async () => {
    const r = await runCli(['doctor', '--json', '--claude-path', claude, ...dirs.flags], env);
    const c = byName((JSON.parse(r.stdout) as { checks: Check[] }).checks);
    expect(c['claude setup']).toMatchObject({ status: 'warn', fix: expect.stringContaining('run `claude` once') });
  });

  it('fails when the state dir is a file, and names the flag to choose another', async () => {
    const file = join(home, 'not-a-dir');
    writeFileSync(file, '');
    const r = await runCli(['doctor', '--json', '--claude-path', claude, ...dirs.flags, '--state-dir', file], env);
    expect(r.code).toBe(1);
    expect(byName(JSON.parse(r.stdout).checks)['state dir']).toMatchObject({ status: 'fail', fix: expect.stringContaining('--state-dir') });
  });

  it('warns, without failing, about a state dir other users can read that holds files tabcrew did not make', async () => {
    const open = join(home, 'open-state');
    mkdirSync(open, { mode: 0o755 });
    chmodSync(open, 0o755);
    writeFileSync(join(open, 'notes.txt'), '');
    const r = await runCli(['doctor', '--json', '--claude-path', claude, ...dirs.flags, '--state-dir', open], env);
    expect(r.code).toBe(0);
    expect(byName(JSON.parse(r.stdout).checks)['state dir']).toMatchObject({ status: 'warn', fix: `chmod 700 ${open}` });
  });

  it('calls an open dir that holds only tabcrew files ok: tabcrew makes it 0700 when it starts', async () => {
    const open = join(home, 'open-logs');
    mkdirSync(open);
    chmodSync(open, 0o755);
    writeFileSync(join(open, '.gitkeep'), '');
    const r = await runCli(['doctor', '--json', '--claude-path', claude, ...dirs.flags, '--log-dir', open], env);
    expect(byName(JSON.parse(r.stdout).checks)['log dir']).toMatchObject({ status: 'ok', detail: expect.stringContaining('made 0700 when tabcrew starts') });
  });
});

describe('tabcrew doctor: the state key before the first start', () => {
  const keyHome = mkdtempSync(join(tmpdir(), 'tabcrew-doctor-key-'));
  afterAll(() => rmSync(keyHome, { recursive: true, force: true }));
  const stateKey = (checks: Check[]) => byName(checks)['state key'];

  it('calls a key file that is there found (--key-source auto, no env key)', async () => {
    mkdirSync(join(keyHome, '.config', 'tabcrew'), { recursive: true });
    writeFileSync(join(keyHome, '.config', 'tabcrew', 'state.key'), `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    const r = await runCli(
      ['doctor', '--json', '--claude-path', claude, ...isolated(mkdtempSync(join(keyHome, 'dirs-'))).flags],
      testEnv(keyHome, { TABCREW_STATE_KEY: '' }),
    );
    expect(stateKey(JSON.parse(r.stdout).checks)).toMatchObject({
      status: 'ok',
      detail: expect.stringMatching(/^found in the key file .*state\.key \(key id [0-9a-f]+\)/),
    });
  });

  it('calls an env key found, with --key-source auto and env', async () => {
    for (const source of ['auto', 'env']) {
      const r = await runCli(
        ['doctor', '--json', '--claude-path', claude, '--key-source', source, ...isolated(mkdtempSync(join(keyHome, 'dirs-'))).flags],
        env,
      );
      expect(stateKey(JSON.parse(r.stdout).checks)).toMatchObject({
        status: 'ok',
        detail: expect.stringContaining('found in the environment variable TABCREW_STATE_KEY'),
      });
    }
  });

  it('says a key will be made when there is none anywhere', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'tabcrew-doctor-nokey-'));
    const r = await runCli(
      ['doctor', '--json', '--claude-path', claude, ...isolated(mkdtempSync(join(keyHome, 'dirs-'))).flags],
      testEnv(empty, { TABCREW_STATE_KEY: '' }),
    );
    rmSync(empty, { recursive: true, force: true });
    expect(stateKey(JSON.parse(r.stdout).checks)).toMatchObject({ status: 'ok', detail: expect.stringContaining('the first start makes a key') });
  });

  it('fails --key-source env without TABCREW_STATE_KEY, as the first start would', async () => {
    const r = await runCli(
      ['doctor', '--json', '--claude-path', claude, '--key-source', 'env', ...isolated(mkdtempSync(join(keyHome, 'dirs-'))).flags],
      testEnv(keyHome, { TABCREW_STATE_KEY: '' }),
    );
    expect(r.code).toBe(1);
    expect(stateKey(JSON.parse(r.stdout).checks)).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('--key-source env needs TABCREW_STATE_KEY'),
    });
  });
});
