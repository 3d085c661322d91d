import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isolated, runCli, testEnv } from './run-cli.js';

const home = mkdtempSync(join(tmpdir(), 'tabcrew-runs-home-'));
const iso = isolated();
afterAll(() => {
  rmSync(home, { recursive: true, force: true });
  rmSync(iso.base, { recursive: true, force: true });
});

describe('tabcrew runs and --roles-file', () => {
  it('tabcrew runs on a state without runs says so', async () => {
    const r = await runCli(['runs', ...iso.flags], testEnv(home));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^no coordination runs in /);
  });

  it('tabcrew runs show of an unknown run exits 1 saying where run ids come from', async () => {
    const r = await runCli(['runs', 'show', 'r-00000000', ...iso.flags], testEnv(home));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no coordination run "r-00000000"');
  });

  it('serve with a bad roles file stops at start naming the file, the entry and the field', async () => {
    const file = join(iso.base, 'roles.yaml');
    writeFileSync(file, 'roles:\n  - id: sre\n    title: Site reliability\n');
    const r = await runCli(['serve', '--roles-file', file, ...iso.flags], testEnv(home));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`--roles-file ${file}: roles.0.guidance:`);
  });
});
