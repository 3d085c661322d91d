import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { launcherPath, sweepLaunchSpecs, writeLaunchSpec } from '../../src/terminals/launch-spec.js';

const runtimeDir = mkdtempSync(join(tmpdir(), 'tabcrew-spec-test-'));
afterAll(() => rmSync(runtimeDir, { recursive: true, force: true }));

describe('launch spec', () => {
  it('is written to a private directory that only its owner can read', async () => {
    const dir = await writeLaunchSpec(runtimeDir, {
      cwd: '/work/some project',
      argv: ['claude', '--append-system-prompt', 'multi\nline prompt with "quotes"'],
      env: { ANTHROPIC_API_KEY: 'sk-secret', EMPTY: '', WITH_EQUALS: 'a=b' },
    });
    expect(dir.startsWith(join(runtimeDir, 'launch'))).toBe(true);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const f of ['argv', 'env', 'cwd']) expect(statSync(join(dir, f)).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, 'cwd'), 'utf8')).toBe('/work/some project');
    expect(readFileSync(join(dir, 'argv'), 'utf8')).toBe('claude\0--append-system-prompt\0multi\nline prompt with "quotes"\0');
    expect(readFileSync(join(dir, 'env'), 'utf8')).toBe('ANTHROPIC_API_KEY=sk-secret\0EMPTY=\0WITH_EQUALS=a=b\0');
  });

  it('refuses a NUL inside any value, which a program could never receive whole', async () => {
    const ok = { cwd: '/tmp', argv: ['prog'], env: {} };
    await expect(writeLaunchSpec(runtimeDir, { ...ok, argv: ['prog', 'a\0b'] })).rejects.toThrow(/argv\[1\] contains a NUL/);
    await expect(writeLaunchSpec(runtimeDir, { ...ok, env: { KEY: 'a\0b' } })).rejects.toThrow(/KEY contains a NUL/);
    await expect(writeLaunchSpec(runtimeDir, { ...ok, cwd: '/tmp/a\0b' })).rejects.toThrow(/working directory contains a NUL/);
  });

  it('refuses what the launcher could not honour: no program, a relative directory, a bad variable name', async () => {
    const ok = { cwd: '/tmp', argv: ['prog'], env: {} };
    await expect(writeLaunchSpec(runtimeDir, { ...ok, argv: [] })).rejects.toThrow(/name a program/);
    await expect(writeLaunchSpec(runtimeDir, { ...ok, cwd: 'relative/dir' })).rejects.toThrow(/absolute/);
    await expect(writeLaunchSpec(runtimeDir, { ...ok, env: { 'BAD-NAME': 'x' } })).rejects.toThrow(/not a valid name/);
    await expect(writeLaunchSpec(runtimeDir, { ...ok, env: { 'A=B': 'x' } })).rejects.toThrow(/not a valid name/);
  });

  it('a spec no launcher took (its tab closed before starting) is swept once it is old', async () => {
    const spec = { cwd: '/tmp', argv: ['prog'], env: { SECRET: 'x' } };
    const old = await writeLaunchSpec(runtimeDir, spec);
    const fresh = await writeLaunchSpec(runtimeDir, spec);
    const anHourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(old, anHourAgo, anHourAgo);
    await sweepLaunchSpecs(runtimeDir, 60_000);
    expect(existsSync(old)).toBe(false);
    expect(existsSync(fresh)).toBe(true);
  });

  it('the launcher script is found from the package root', () => {
    const path = launcherPath();
    expect(path.endsWith(join('scripts', 'launch-tab.sh'))).toBe(true);
    expect(existsSync(path)).toBe(true);
  });
});
