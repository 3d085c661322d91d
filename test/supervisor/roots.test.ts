import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { overlapMessage, overlappingSession, resolveRoot } from '../../src/supervisor/roots.js';

const base = mkdtempSync(join(tmpdir(), 'tabcrew-roots-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('session roots', () => {
  it('are resolved with realpath, so a symlink and its target are the same root', async () => {
    mkdirSync(join(base, 'real'));
    symlinkSync(join(base, 'real'), join(base, 'link'));
    expect(await resolveRoot(join(base, 'link'))).toBe(await resolveRoot(join(base, 'real')));
  });

  it('a leading ~ or ~/ is the server\'s HOME, as in the README\'s "a session on ~/code/app"', async () => {
    mkdirSync(join(base, 'code', 'app'), { recursive: true });
    expect(await resolveRoot('~/code/app', base)).toBe(await resolveRoot(join(base, 'code', 'app')));
    expect(await resolveRoot('~', base)).toBe(await resolveRoot(base));
    expect(await resolveRoot('~/code/app', base + '/')).toBe(await resolveRoot(join(base, 'code', 'app')));
    // Another user's home is not guessed: refused, and the message says what ~/ means.
    await expect(resolveRoot('~root/app', base)).rejects.toThrow(/not an absolute path.*a leading ~\/ is the server's HOME/);
    await expect(resolveRoot('~/nope', base)).rejects.toThrow(new RegExp(`root ${base}/nope does not exist`));
  });

  it('must be absolute, existing directories, and the error says what to do', async () => {
    await expect(resolveRoot('relative/dir')).rejects.toThrow(/not an absolute path/);
    await expect(resolveRoot(join(base, 'missing'))).rejects.toThrow(/does not exist/);
    writeFileSync(join(base, 'file'), '');
    await expect(resolveRoot(join(base, 'file'))).rejects.toThrow(/not a directory/);
  });

  it('may not equal, lie inside, or contain another session root', () => {
    const s = [{ id: 's-1', name: 'app', root: '/w/app', createdAt: '' }];
    expect(overlappingSession('/w/app', s)).toBe(s[0]);
    expect(overlappingSession('/w/app/sub', s)).toBe(s[0]);
    expect(overlappingSession('/w', s)).toBe(s[0]);
    expect(overlappingSession('/w/app2', s)).toBeUndefined();
    expect(overlapMessage('/w/app/sub', s[0])).toMatch(/is inside the root of session "app"/);
  });
});
