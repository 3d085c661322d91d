import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyIdOf, sodiumReady } from '../../src/store/crypto-codec.js';
import { defaultKeyFile, keyHelp, openKeys, type SecurityRunner } from '../../src/store/keys.js';

const base = mkdtempSync(join(tmpdir(), 'tabcrew-keys-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
beforeAll(sodiumReady);

let n = 0;
const fresh = (): string => join(base, `case-${++n}`);
const b64 = (byte: number, length = 32): string => Buffer.alloc(length, byte).toString('base64');

/** An in-memory stand-in for macOS `security`, so no test touches a real keychain. */
function fakeKeychain(opts: { failWith?: number } = {}) {
  const items = new Map<string, string>();
  const calls: string[][] = [];
  const run: SecurityRunner = async (args) => {
    calls.push(args);
    if (opts.failWith) return { code: opts.failWith, stdout: '', stderr: 'User interaction is not allowed.' };
    const account = args[args.indexOf('-a') + 1]!;
    switch (args[0]) {
      case 'find-generic-password':
        return items.has(account) ? { code: 0, stdout: `${items.get(account)}\n`, stderr: '' } : { code: 44, stdout: '', stderr: 'not found' };
      case 'add-generic-password':
        if (items.has(account) && !args.includes('-U')) return { code: 45, stdout: '', stderr: 'already exists' };
        items.set(account, args[args.indexOf('-w') + 1]!);
        return { code: 0, stdout: '', stderr: '' };
      case 'delete-generic-password':
        return items.delete(account) ? { code: 0, stdout: '', stderr: '' } : { code: 44, stdout: '', stderr: 'not found' };
    }
    return { code: 2, stdout: '', stderr: 'unknown command' };
  };
  return { items, calls, run };
}

describe('state key sources', () => {
  it('takes TABCREW_STATE_KEY when set, even on macOS with a key in the Keychain', async () => {
    const kc = fakeKeychain();
    kc.items.set('state-key', b64(1));
    const keys = await openKeys({ env: { TABCREW_STATE_KEY: b64(7) }, platform: 'darwin', security: kc.run, keyFile: join(fresh(), 'k'), mayCreate: true });
    expect(keys.store.source).toBe('env');
    expect(Buffer.from(keys.current).equals(Buffer.alloc(32, 7))).toBe(true);
    expect(kc.calls).toEqual([]);
  });

  it('rejects a TABCREW_STATE_KEY that is not the base64 of 32 bytes, without echoing it', async () => {
    for (const bad of [b64(1, 16), 'not base64 at all!', `${b64(1)}xx`]) {
      const attempt = openKeys({ keySource: 'env', env: { TABCREW_STATE_KEY: bad }, mayCreate: true });
      await expect(attempt).rejects.toThrow(/TABCREW_STATE_KEY must hold the base64 of exactly 32 bytes.*openssl rand -base64 32/);
      await expect(attempt).rejects.not.toThrow(bad);
    }
  });

  it('asks for TABCREW_STATE_KEY when --key-source env is chosen without it', async () => {
    await expect(openKeys({ keySource: 'env', env: {}, mayCreate: true })).rejects.toThrow(/--key-source env needs TABCREW_STATE_KEY/);
  });

  it('creates a private key file on first run off macOS and reads the same key afterwards', async () => {
    const keyFile = join(fresh(), 'config', 'tabcrew', 'state.key');
    const first = await openKeys({ env: {}, platform: 'linux', keyFile, mayCreate: true });
    expect(first.created).toBe(true);
    expect(first.store.source).toBe('file');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(statSync(join(keyFile, '..')).mode & 0o777).toBe(0o700);
    const again = await openKeys({ env: {}, platform: 'linux', keyFile, mayCreate: true });
    expect(again.created).toBe(false);
    expect(keyIdOf(again.current)).toBe(keyIdOf(first.current));
  });

  it('agrees on one key when several tabcrews create the key file at once', async () => {
    const keyFile = join(fresh(), 'state.key');
    const all = await Promise.all(Array.from({ length: 6 }, () => openKeys({ keySource: 'file', env: {}, keyFile, mayCreate: true })));
    expect(new Set(all.map((k) => keyIdOf(k.current))).size).toBe(1);
    expect(keyIdOf((await openKeys({ keySource: 'file', env: {}, keyFile, mayCreate: false })).current)).toBe(keyIdOf(all[0]!.current));
  });

  it('refuses a key file other users can read, and says how to fix it', async () => {
    const keyFile = join(fresh(), 'state.key');
    await openKeys({ keySource: 'file', env: {}, keyFile, mayCreate: true });
    chmodSync(keyFile, 0o644);
    await expect(openKeys({ keySource: 'file', env: {}, keyFile, mayCreate: true })).rejects.toThrow(`chmod 600 ${keyFile}`);
  });

  it('refuses a damaged key file, naming the file but not its content', async () => {
    const dir = fresh();
    const keyFile = join(dir, 'state.key');
    await openKeys({ keySource: 'file', env: {}, keyFile, mayCreate: true });
    writeFileSync(keyFile, 'c2hvcnQ=\n', { mode: 0o600 });
    const attempt = openKeys({ keySource: 'file', env: {}, keyFile, mayCreate: true });
    await expect(attempt).rejects.toThrow(`The key file ${keyFile} must hold the base64 of exactly 32 bytes`);
    await expect(attempt).rejects.not.toThrow('c2hvcnQ');
  });

  it('will not keep the key file inside the state dir it protects', async () => {
    const stateDir = fresh();
    await expect(openKeys({ keySource: 'file', env: {}, keyFile: join(stateDir, 'k'), stateDir, mayCreate: true })).rejects.toThrow(/inside the state dir/);
  });

  it('does not invent a key for a state that is already encrypted', async () => {
    const keyFile = join(fresh(), 'state.key');
    await expect(openKeys({ env: {}, platform: 'linux', keyFile, stateDir: fresh(), mayCreate: false })).rejects.toThrow(
      /is encrypted, but the key file .* holds no key.*--key-source/,
    );
    expect(existsSync(keyFile)).toBe(false);
  });

  it('a missing key under another HOME: the message names the sources tried, the HOME looked under, and the fixes', async () => {
    const home = fresh();
    const message = await openKeys({ env: { HOME: home }, platform: 'darwin', security: fakeKeychain().run, stateDir: fresh(), mayCreate: false }).then(
      () => '',
      (e: Error) => e.message,
    );
    expect(message).toContain(
      `tabcrew looked (--key-source auto) in: TABCREW_STATE_KEY (not set); the macOS Keychain of this user (HOME=${home}); ` +
        `the key file ${join(home, '.config', 'tabcrew', 'state.key')} (the default under HOME=${home}).`,
    );
    expect(message).toContain('A state made while tabcrew ran under another HOME has its key there');
    expect(message).toContain(
      "Fix: give the key this state was written with — --key-file <that HOME>/.config/tabcrew/state.key, or TABCREW_STATE_KEY=<its base64> in the client's MCP server config",
    );
    expect(message).toContain('or give this HOME a state of its own: --state-dir <dir>.');
  });

  it('the key help names XDG_CONFIG_HOME when that chose the key file, and the file given with --key-file as such', () => {
    expect(keyHelp({ env: { HOME: '/h', XDG_CONFIG_HOME: '/x' }, platform: 'linux' })).toContain(
      'in: TABCREW_STATE_KEY (not set); the key file /x/tabcrew/state.key (the default under XDG_CONFIG_HOME=/x).',
    );
    expect(keyHelp({ keySource: 'file', keyFile: '/k/state.key', env: { HOME: '/h' } })).toContain(
      '(--key-source file) in: the key file /k/state.key (--key-file).',
    );
    expect(keyHelp({ keySource: 'env', env: { TABCREW_STATE_KEY: 'x' } })).toContain('(--key-source env) in: TABCREW_STATE_KEY (set).');
  });

  it('says the Keychain is macOS-only when it is forced elsewhere', async () => {
    await expect(openKeys({ keySource: 'keychain', env: {}, platform: 'linux', mayCreate: true })).rejects.toThrow(
      /needs the macOS Keychain, and this is linux. Use --key-source file/,
    );
  });

  it('keeps a new key in the macOS Keychain through `security` arguments, never a shell line', async () => {
    const kc = fakeKeychain();
    const keyFile = join(fresh(), 'state.key');
    const keys = await openKeys({ env: {}, platform: 'darwin', security: kc.run, keyFile, mayCreate: true });
    expect(keys.store.source).toBe('keychain');
    expect(keys.created).toBe(true);
    expect(existsSync(keyFile)).toBe(false);
    expect(kc.calls[0]).toEqual(['find-generic-password', '-s', 'tabcrew', '-a', 'state-key', '-w']);
    const add = kc.calls.find((c) => c[0] === 'add-generic-password')!;
    expect(add).not.toContain('-U'); // creating must not replace a key another tabcrew just stored
    expect(add.slice(-2)).toEqual(['-w', Buffer.from(keys.current).toString('base64')]);
    const again = await openKeys({ env: {}, platform: 'darwin', security: kc.run, keyFile, mayCreate: true });
    expect(keyIdOf(again.current)).toBe(keyIdOf(keys.current));
  });

  it('uses an existing key file on macOS when the Keychain has no key', async () => {
    const keyFile = join(fresh(), 'state.key');
    const fromFile = await openKeys({ keySource: 'file', env: {}, keyFile, mayCreate: true });
    const keys = await openKeys({ env: {}, platform: 'darwin', security: fakeKeychain().run, keyFile, mayCreate: true });
    expect(keys.store.source).toBe('file');
    expect(keyIdOf(keys.current)).toBe(keyIdOf(fromFile.current));
  });

  it('stops rather than splitting the key when the Keychain is locked and no key file exists', async () => {
    const keyFile = join(fresh(), 'state.key');
    await expect(openKeys({ env: {}, platform: 'darwin', security: fakeKeychain({ failWith: 36 }).run, keyFile, mayCreate: true })).rejects.toThrow(
      /Keychain could not read the state key \(security exited 36: User interaction is not allowed.\). Unlock .* --key-source file or env/,
    );
    expect(existsSync(keyFile)).toBe(false);
  });

  it('finds the default key file under XDG_CONFIG_HOME or HOME, outside any state dir', () => {
    expect(defaultKeyFile({ HOME: '/h/alice' })).toBe('/h/alice/.config/tabcrew/state.key');
    expect(defaultKeyFile({ HOME: '/h/alice', XDG_CONFIG_HOME: '/x/cfg' })).toBe('/x/cfg/tabcrew/state.key');
  });

  it('writes the key file as base64 text a person can back up', async () => {
    const keyFile = join(fresh(), 'state.key');
    const keys = await openKeys({ keySource: 'file', env: {}, keyFile, mayCreate: true });
    expect(readFileSync(keyFile, 'utf8')).toBe(`${Buffer.from(keys.current).toString('base64')}\n`);
  });
});
