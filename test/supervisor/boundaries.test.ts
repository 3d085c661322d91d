import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StateStore } from '../../src/store/state-store.js';
import { boundariesPath, writeBoundaries } from '../../src/supervisor/boundaries.js';

const base = mkdtempSync(join(tmpdir(), 'tabcrew-boundaries-file-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

const session = (id: string) => ({ id, name: id, root: `/w/${id}`, createdAt: '2026-01-01T00:00:00.000Z' });

describe('the boundaries file', () => {
  it('is private, lists every session, and converges on the newest state when two servers write it', async () => {
    const dir = join(base, 'state');
    const runtime = join(base, 'runtime');
    const dirs = { runtimeDir: runtime, stateDir: dir, logDir: join(base, 'logs') };
    const first = new StateStore(dir);
    const second = new StateStore(dir);
    await first.update((s) => void s.sessions.push(session('a')));
    await second.update((s) => void s.sessions.push(session('b')));
    // The first server writes last, but reads the state under the lock: b is not lost.
    await Promise.all([
      second.update((s) => (s.sessions = s.sessions.filter((x) => x.id !== 'a'))).then(() => writeBoundaries(second, dirs)),
      writeBoundaries(first, dirs),
    ]);
    await writeBoundaries(first, dirs);
    const file = boundariesPath(runtime);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({
      version: 1,
      sessions: [{ id: 'b', name: 'b', root: '/w/b' }],
      protected: [runtime, dir, join(base, 'logs')],
    });
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });
});
