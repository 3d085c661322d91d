import { mkdirSync, mkdtempSync, rmSync, symlinkSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { controlDir, controlSocketBytes, pickControlDir, sshArgv, sunPathBytes, type ControlDirHost } from '../../src/crew/ssh-argv.js';

const base = mkdtempSync(join(tmpdir(), 'tabcrew-ssh-argv-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** A directory path of exactly `n` characters (not created). */
const dirOf = (n: number, root = '/opt'): string => root + '/' + 'r'.repeat(n - root.length - 1);
/** A Mac's per-user temp dir: /var/folders/<2>/<30>/T, 49 characters with its slash. */
const MAC_TMPDIR = '/var/folders/zz/zyxvpxvq6csfxvn_n0000000000000/T';
const hosts: ControlDirHost[] = [
  { platform: 'linux', tmpdir: '/tmp', uid: 501 },
  { platform: 'linux', tmpdir: MAC_TMPDIR, uid: 501 },
  { platform: 'darwin', tmpdir: MAC_TMPDIR, uid: 501 },
];
/** What ssh binds: ControlPath (as sshArgv passes it) + ".XXXXXXXXXXXXXXXX" + NUL. */
const boundBytes = (dir: string): number => {
  const path = sshArgv({ name: 'b', host: 'box1' }, { controlDir: dir }, [])
    .find((a) => a.startsWith('ControlPath='))!
    .slice('ControlPath='.length);
  return Buffer.byteLength(path) + 17 + 1;
};

describe('ssh control sockets fit a unix socket path', () => {
  it('a runtime dir of any length up to 200 characters gets a control dir whose bound socket fits sun_path on Linux and macOS', () => {
    expect(MAC_TMPDIR.length + 1).toBe(49);
    for (const host of hosts) {
      for (let n = 10; n <= 200; n++) {
        const { dir } = pickControlDir(dirOf(n), host);
        expect(boundBytes(dir), `${host.platform} tmpdir ${host.tmpdir} runtime ${n}`).toBeLessThanOrEqual(sunPathBytes(host.platform));
        expect(controlSocketBytes(dir)).toBe(boundBytes(dir));
      }
    }
  });

  it('the sockets stay in <runtime>/ssh while that fits, and a Mac falls back to /tmp, not its long temp dir', () => {
    const mac = hosts[2]!;
    // An install under /opt/homebrew/lib/node_modules/tabcrew/runtime (47 characters) keeps them.
    expect(pickControlDir('/opt/homebrew/lib/node_modules/tabcrew/runtime', mac)).toEqual({
      dir: '/opt/homebrew/lib/node_modules/tabcrew/runtime/ssh',
      shared: false,
    });
    expect(pickControlDir(dirOf(80), mac).dir).toMatch(/^\/tmp\/tabcrew-ssh-501-[0-9a-f]{10}$/);
    expect(pickControlDir(dirOf(80), { platform: 'linux', tmpdir: '/run/user/501', uid: 501 }).dir).toMatch(/^\/run\/user\/501\/tabcrew-ssh-501-/);
  });

  it('a runtime dir with a space (one ssh option word) uses the temp dir', () => {
    expect(pickControlDir('/Users/me/My Projects/tabcrew/runtime', hosts[2]!).shared).toBe(true);
  });

  it('the socket name is a short hash per user, host, port and config; a % in the dir is not an ssh token', () => {
    const cp = (node: { user?: string; host: string; port?: number }, configFile?: string) =>
      sshArgv({ name: 'n', ...node }, { controlDir: '/run/50%', configFile }, []).find((a) => a.startsWith('ControlPath='))!;
    expect(cp({ host: 'box1' })).toMatch(/^ControlPath=\/run\/50%%\/[0-9a-f]{16}$/);
    const names = new Set([
      cp({ host: 'box1' }),
      cp({ host: 'box2' }),
      cp({ host: 'box1', port: 2222 }),
      cp({ host: 'box1', user: 'dev' }),
      cp({ host: 'box1' }, '/etc/c'),
    ]);
    expect(names.size).toBe(5);
    expect(cp({ host: 'box1' })).toBe(cp({ host: 'box1' }));
  });

  it('a fallback dir under a shared temp dir is made 0700, and one that is a link planted there is refused', () => {
    const uid = process.getuid!();
    const tmp = join(base, 'tmp');
    mkdirSync(tmp);
    const host: ControlDirHost = { platform: process.platform, tmpdir: tmp, uid };
    const long = dirOf(100, base);
    const dir = controlDir(long, host);
    expect(dir.startsWith(tmp + '/')).toBe(true);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(controlDir(long, host)).toBe(dir);
    // Another runtime dir's name taken by a link to somewhere else.
    const other = dirOf(101, base);
    const planted = pickControlDir(other, host).dir;
    mkdirSync(join(base, 'elsewhere'));
    symlinkSync(join(base, 'elsewhere'), planted);
    expect(() => controlDir(other, host)).toThrow(/not a directory of this user: remove it, or pass a shorter --runtime-dir/);
    // A real directory, but another user's (here: made by this one for a host whose user differs).
    const stranger = { ...host, uid: uid + 1 };
    mkdirSync(pickControlDir(long, stranger).dir);
    expect(() => controlDir(long, stranger)).toThrow(/not a directory of this user/);
  });
});
