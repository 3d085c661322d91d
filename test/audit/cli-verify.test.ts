import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/audit/audit-log.js';
import { openStateStore } from '../../src/store/state-store.js';
import { runCli, testEnv } from '../cli/run-cli.js';
import { TEST_STATE_KEY } from '../support/tabcrew.js';

// Drives dist/cli.js: run `npm run build` first.
const base = mkdtempSync(join(tmpdir(), 'tabcrew-audit-cli-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

const stateDir = join(base, 'state');
const logDir = join(base, 'logs');
const env = testEnv(base);
const verifyCli = (state = stateDir): ReturnType<typeof runCli> => runCli(['audit', 'verify', '--state-dir', state, '--log-dir', logDir], env);

describe('tabcrew audit verify', () => {
  it("checks the MACs and the anchor kept in the state, and detects deleting the log and the head against the state's anchor", async () => {
    const key = randomBytes(32);
    const log = new AuditLog(logDir, { key });
    for (let i = 0; i < 3; i++) await log.append({ type: 'test', i });
    const anchor = log.head()!;
    await log.append({ type: 'test', i: 3 });
    await log.close();
    const store = await openStateStore({ dir: stateDir, keySource: 'env', env: { TABCREW_STATE_KEY: TEST_STATE_KEY } });
    // The fields the state keeps for the audit log (the State schema owns their types).
    await store.update((s) => Object.assign(s, { auditKey: key.toString('base64'), audit: anchor }));

    const good = await verifyCli();
    expect(good, good.stderr).toMatchObject({ code: 0, stdout: expect.stringContaining("4 records in 1 files (MACs checked, state's anchor found)") });

    const plain = await verifyCli(join(base, 'no-state'));
    expect(plain).toMatchObject({
      code: 0,
      stderr: expect.stringMatching(/plain hash chain only/),
      stdout: expect.stringMatching(/cannot detect: without the audit key/),
    });

    rmSync(logDir, { recursive: true });
    const gone = await verifyCli();
    expect(gone).toMatchObject({ code: 1, stderr: expect.stringMatching(/the state's anchor says seq 3 was written/) });
  });
});
