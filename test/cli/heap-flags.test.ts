import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI } from '../support/tabcrew.js';
import { REPO } from './run-cli.js';

/** The V8 flags the installed entry (dist/cli.js) sets before it loads the bundle. */
const heapFlags = /^const HEAP_FLAGS = (\[[^\]\n]*\]);$/m.exec(readFileSync(CLI, 'utf8'))?.[1];
const dir = mkdtempSync(join(tmpdir(), 'tabcrew-heap-flags-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the entry's heap flags", () => {
  it('are set the way the build made the code cache under, so V8 accepts the cache', () => {
    expect(heapFlags).toBeDefined();
    const rejected = execFileSync(
      process.execPath,
      [
        '-e',
        `for (const flag of ${heapFlags}) require('node:v8').setFlagsFromString(flag);
         const { readFileSync } = require('node:fs');
         const file = require('node:path').resolve('dist/main.cjs');
         const script = new (require('node:vm').Script)('(function (exports, require, module, __filename, __dirname) {' + readFileSync(file, 'utf8') + '\\n})', { filename: file, cachedData: readFileSync(file + '.cache') });
         process.stdout.write(String(script.cachedDataRejected));`,
      ],
      { cwd: REPO, encoding: 'utf8' },
    );
    expect(rejected).toBe('false');
  });

  it('keep the young generation at its first size while the bundle loads and runs', () => {
    // Node's default grows it to 16 MB while the bundle loads (docs/performance.md).
    const probe = join(dir, 'probe.cjs');
    writeFileSync(
      probe,
      `process.on('exit', () => process.stderr.write('new_space ' + require('node:v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size + '\\n'));`,
    );
    const run = spawnSync(process.execPath, ['--require', probe, CLI, '--help'], { cwd: REPO, encoding: 'utf8', timeout: 30_000 });
    expect(run.status, run.stderr).toBe(0);
    const newSpace = Number(/new_space (\d+)/.exec(run.stderr)?.[1]);
    expect(newSpace).toBeGreaterThan(0);
    expect(newSpace).toBeLessThanOrEqual(2 * 2 ** 20);
  });
});
