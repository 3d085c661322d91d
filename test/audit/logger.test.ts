import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { closeLogger, createLogger } from '../../src/audit/logger.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const logDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'tabcrew-logger-'));
  dirs.push(d);
  return d;
};

describe('the operational log (tabcrew.log)', () => {
  it('two starts keep both starts’ lines, and the file stays 0600', async () => {
    const dir = logDir();
    for (const start of ['first', 'second']) {
      const log = createLogger(dir);
      log.info(`${start} start`);
      await closeLogger(log);
    }
    const lines = readFileSync(join(dir, 'tabcrew.log'), 'utf8').trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { message: string }).message)).toEqual(['first start', 'second start']);
    expect(statSync(join(dir, 'tabcrew.log')).mode & 0o777).toBe(0o600);
  });

  it('a record logged after the log closed never throws: an error goes to stderr as one redacted line', async () => {
    const dir = logDir();
    const log = createLogger(dir);
    log.info('before');
    await closeLogger(log);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const errors: unknown[] = [];
    log.on('error', (e) => errors.push(e));
    try {
      log.error('recovery failed: token=abc123secretvalue', { stack: 'Error\n    at x' });
      log.info('late info');
      await new Promise((r) => setTimeout(r, 50));
      expect(stderr.mock.calls.map((c) => String(c[0]))).toEqual(['tabcrew: error: recovery failed: token=[REDACTED:token]\n']);
    } finally {
      stderr.mockRestore();
    }
    expect(errors).toEqual([]);
    expect(readFileSync(join(dir, 'tabcrew.log'), 'utf8')).not.toContain('late info');
  });
});
