import * as fs from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { AuditLog, verify } from '../../src/audit/audit-log.js';

vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  return { ...real, fsyncSync: vi.fn(real.fsyncSync) };
});

const dir = mkdtempSync(join(tmpdir(), 'tabcrew-audit-group-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the audit log group commit', () => {
  it('writes the records appended while it waited for the lock in the same write and fsync as the first', async () => {
    const log = new AuditLog(dir);
    await log.append({ type: 'test', i: 0 });
    // Another process holds the log's lock: the next records wait for it.
    const release = await lockfile.lock(dir, { lockfilePath: join(dir, 'audit.lock'), realpath: false });
    const fsyncs = vi.mocked(fs.fsyncSync);
    fsyncs.mockClear();
    const first = log.append({ type: 'test', i: 1 });
    await new Promise((r) => setTimeout(r, 30));
    const more = [log.append({ type: 'test', i: 2 }), log.append({ type: 'test', i: 3 })];
    await new Promise((r) => setTimeout(r, 30));
    await release();
    const records = await Promise.all([first, ...more]);
    expect(records.map((r) => r.seq)).toEqual([2, 3, 4]);
    expect(fsyncs).toHaveBeenCalledTimes(1);
    await log.close();
    expect((await verify(dir)).ok).toBe(true);
  });
});
