import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStateStore } from '../../src/store/state-store.js';
import { TEST_STATE_KEY } from '../support/tabcrew.js';
import { isolated, runCli, testEnv } from '../cli/run-cli.js';

// Drives dist/cli.js: run `npm run build` first.
const home = mkdtempSync(join(tmpdir(), 'tabcrew-rollback-home-'));
const place = isolated();
afterAll(() => {
  rmSync(home, { recursive: true, force: true });
  rmSync(place.base, { recursive: true, force: true });
});

describe('tabcrew state accept-rollback', () => {
  it('a state copied back from an older generation stops the CLI, and accept-rollback lets it carry on', async () => {
    const dir = join(place.base, 'state');
    const store = await openStateStore({ dir, keySource: 'env', env: { TABCREW_STATE_KEY: TEST_STATE_KEY } });
    for (let i = 1; i <= 3; i++) {
      await store.update((s) => {
        s.sessions.push({ id: `s-${i}`, name: `one-${i}`, root: `/tmp/root-${i}`, createdAt: new Date(0).toISOString() });
      });
    }
    copyFileSync(join(dir, 'state.enc.1'), join(dir, 'state.enc'));
    const env = testEnv(home);

    const refused = await runCli(['sessions', '--json', ...place.flags], env);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('holds generation 2 of the state, but tabcrew has written generation 3');
    expect(refused.stderr).toContain(`tabcrew state accept-rollback --state-dir ${dir}`);

    const accepted = await runCli(['state', 'accept-rollback', ...place.flags], env);
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(accepted.stdout).toMatch(/^accepted .*state\.enc \(generation 2; tabcrew had written generation 3\); saved as generation 4/);

    const after = await runCli(['sessions', '--json', ...place.flags], env);
    expect(after.code, after.stderr).toBe(0);
    expect((JSON.parse(after.stdout) as { sessions: unknown[] }).sessions).toHaveLength(2);

    const again = await runCli(['state', 'accept-rollback', '--json', ...place.flags], env);
    expect(JSON.parse(again.stdout)).toMatchObject({ changed: false, acceptedGeneration: 4 });
  });
});
