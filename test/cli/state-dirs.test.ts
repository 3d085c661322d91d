import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI } from '../support/tabcrew.js';
import { testEnv, type CliResult } from './run-cli.js';

const bases: string[] = [];
const temp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'tabcrew-state-dirs-'));
  bases.push(d);
  return d;
};
afterAll(() => {
  for (const b of bases) rmSync(b, { recursive: true, force: true });
});

/** The built CLI in `cwd`, with its own HOME; each state gets its own key (the key file of its HOME). */
function tabcrew(cwd: string, home: string, args: string[]): Promise<CliResult> {
  return new Promise((done) => {
    const env = testEnv(home, { TABCREW_STATE_KEY: '', XDG_CONFIG_HOME: '' });
    execFile(process.execPath, [CLI, ...args], { cwd, env, timeout: 60_000, encoding: 'utf8' }, (err, stdout, stderr) =>
      done({ code: err ? ((err.code as number) ?? -1) : 0, stdout, stderr }),
    );
  });
}

const tabs = (base: string): string[] => ['--runtime-dir', join(base, 'runtime'), '--tmux-socket', `tabcrew-sd-${process.pid}`, '--backend', 'pty'];

describe('two state dirs', () => {
  it("a second --state-dir keeps its logs beside its state, and the first's audit verify stays intact", async () => {
    const base = temp();
    const [first, second] = [join(base, 'first'), join(base, 'second')];
    const [homeA, homeB] = [join(base, 'home-a'), join(base, 'home-b')];
    expect((await tabcrew(base, homeA, ['status', '--state-dir', first, ...tabs(base)])).code).toBe(0);
    expect((await tabcrew(base, homeB, ['status', '--state-dir', second, ...tabs(base)])).code).toBe(0);
    expect(existsSync(join(base, 'first-logs', 'audit-head.json'))).toBe(true);
    expect(existsSync(join(base, 'second-logs', 'audit-head.json'))).toBe(true);
    for (let i = 0; i < 2; i++) {
      const v = await tabcrew(base, homeA, ['audit', 'verify', '--state-dir', first]);
      expect(v.stderr).not.toMatch(/MAC|forged|GAP/);
      expect(v.stdout).toMatch(/^audit log intact: .* \(MACs checked/);
      expect(v.code).toBe(0);
      await tabcrew(base, homeB, ['status', '--state-dir', second, ...tabs(base)]);
    }
  }, 120_000);

  it("one --log-dir given to two states: the second is refused with the fix, the first's log stays intact", async () => {
    const base = temp();
    const logs = ['--log-dir', join(base, 'logs')];
    const [homeA, homeB] = [join(base, 'home-a'), join(base, 'home-b')];
    expect((await tabcrew(base, homeA, ['status', '--state-dir', join(base, 'first'), ...logs, ...tabs(base)])).code).toBe(0);
    const refused = await tabcrew(base, homeB, ['status', '--state-dir', join(base, 'second'), ...logs, ...tabs(base)]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^tabcrew: The audit log in .*\/logs is another state's: it is kept with audit key id [0-9a-f]{16}, and this state's is [0-9a-f]{16}\./m,
    );
    expect(refused.stderr).toContain('--log-dir');
    const v = await tabcrew(base, homeA, ['audit', 'verify', '--state-dir', join(base, 'first'), ...logs]);
    expect(v.stdout).toMatch(/^audit log intact/);
    expect(v.code).toBe(0);
    // The second state's own verify says whose records they are, not "forged".
    const w = await tabcrew(base, homeB, ['audit', 'verify', '--state-dir', join(base, 'second'), ...logs]);
    expect(w.code).toBe(1);
    expect(w.stderr).toMatch(/another audit key \(key id [0-9a-f]{16}; this state's is [0-9a-f]{16}\): another state dir wrote to this log dir/);
    expect(w.stderr).not.toMatch(/forged/);
  }, 120_000);

  it('a relative --state-dir is resolved against the current directory, and stderr says where', async () => {
    const base = temp();
    const r = await tabcrew(base, join(base, 'home'), ['status', '--state-dir', 'crew', ...tabs(base)]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`tabcrew: the state dir "crew" is relative to the current directory: using ${join(base, 'crew')}\n`);
    expect(existsSync(join(base, 'crew-logs', 'tabcrew.log'))).toBe(true);
  }, 60_000);
});
