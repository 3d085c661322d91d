import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config.js';
import { tightenPrivateDirs } from '../../src/cli/private-dirs.js';

const base = mkdtempSync(join(tmpdir(), 'tabcrew-private-dirs-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

const openDir = (name: string, files: string[] = []): string => {
  const dir = join(base, name);
  mkdirSync(dir);
  chmodSync(dir, 0o755);
  for (const f of files) writeFileSync(join(dir, f), '');
  return dir;
};
const mode = (dir: string) => statSync(dir).mode & 0o777;

describe('private dirs', () => {
  it("makes the package's own state/, logs/ and runtime/ 0700 whatever they hold (a fresh clone makes them 0755)", () => {
    const defaults = { ...defaultConfig(), stateDir: openDir('state', ['x']), logDir: openDir('logs', ['y']), runtimeDir: openDir('runtime', ['z']) };
    expect(tightenPrivateDirs(defaults, defaults)).toEqual([]);
    for (const d of [defaults.stateDir, defaults.logDir, defaults.runtimeDir]) expect(mode(d)).toBe(0o700);
  });

  it('makes a given dir holding only tabcrew files 0700', () => {
    const config = {
      ...defaultConfig(),
      stateDir: openDir('s1', ['.gitkeep', 'state.enc']),
      logDir: openDir('l1', ['tabcrew.log', 'audit-2026-12-01.jsonl']),
      runtimeDir: join(base, 'none'),
    };
    expect(tightenPrivateDirs(config)).toEqual([]);
    expect(mode(config.stateDir)).toBe(0o700);
    expect(mode(config.logDir)).toBe(0o700);
  });

  it('leaves a given dir holding other files alone, and says what to run', () => {
    const logDir = openDir('shared', ['tabcrew.log', 'syslog']);
    const notices = tightenPrivateDirs({ ...defaultConfig(), stateDir: join(base, 'none'), logDir, runtimeDir: join(base, 'none') });
    expect(mode(logDir)).toBe(0o755);
    expect(notices).toEqual([expect.stringContaining(`Run chmod 700 ${logDir}, or give tabcrew a dir of its own with --log-dir`)]);
  });
});
