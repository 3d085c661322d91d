import { execFile } from 'node:child_process';
import { link, mkdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, relative, resolve, isAbsolute } from 'node:path';
import { keyIdOf, newStateKey, sodiumReady, STATE_KEY_BYTES, type StateKeys } from './crypto-codec.js';
import { fsyncDir, writeTemp } from './files.js';

export const KEY_SOURCES = ['auto', 'keychain', 'file', 'env'] as const;
export type KeySource = (typeof KEY_SOURCES)[number];
export type ConcreteKeySource = Exclude<KeySource, 'auto'>;

export const ENV_KEY = 'TABCREW_STATE_KEY';
/** Where a rotation of an env key finds the new key: tabcrew cannot change its parent's environment. */
export const ENV_NEXT_KEY = 'TABCREW_STATE_KEY_NEXT';
export const KEYCHAIN_SERVICE = 'tabcrew';
export const KEYCHAIN_ACCOUNT = 'state-key';
export const KEYCHAIN_NEXT_ACCOUNT = 'state-key-next';

/** `security` exit status for "item not found" (errSecItemNotFound). */
const SECURITY_NOT_FOUND = 44;
/** `security` exit status for "already exists" (errSecDuplicateItem). */
const SECURITY_DUPLICATE = 45;

export type SecurityRunner = (args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>;

export interface KeyOptions {
  /** Default 'auto': TABCREW_STATE_KEY if set, else the macOS Keychain (macOS only), else the key file. */
  keySource?: KeySource;
  /** Default: $XDG_CONFIG_HOME/tabcrew/state.key, else ~/.config/tabcrew/state.key. */
  keyFile?: string;
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  /** Runs macOS `security`; tests inject a fake so no real keychain is touched. */
  security?: SecurityRunner;
}

export class StateKeyError extends Error {
  override name = 'StateKeyError';
}

/**
 * One place a key can live, with two slots: `current` (what the state is written with) and
 * `next` (a key a rotation has saved first, so that a crash in the middle loses nothing).
 */
export interface KeyStore {
  readonly source: ConcreteKeySource;
  /** Where the key lives, for messages; never the key itself. */
  readonly where: string;
  get(slot: 'current' | 'next'): Promise<Uint8Array | null>;
  /** Stores a key in an empty current slot; resolves with the key that is there afterwards (another process may win). */
  create(key: Uint8Array): Promise<Uint8Array>;
  putNext(key: Uint8Array): Promise<void>;
  /** Makes the next key current and empties the next slot, never leaving neither slot with the next key. */
  promote(): Promise<void>;
  clearNext(): Promise<void>;
}

export function defaultKeyFile(env: NodeJS.ProcessEnv = process.env): string {
  const config = env.XDG_CONFIG_HOME && isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : join(env.HOME || homedir(), '.config');
  return join(config, 'tabcrew', 'state.key');
}

/** Reads a key given as text: base64 of exactly 32 bytes. `where` names it in the error, the value never appears. */
export function parseKey(text: string, where: string): Uint8Array {
  const trimmed = text.trim();
  const bytes = /^[A-Za-z0-9+/]*={0,2}$/.test(trimmed) ? Buffer.from(trimmed, 'base64') : null;
  if (!bytes || bytes.length !== STATE_KEY_BYTES || bytes.toString('base64') !== trimmed) {
    const got = bytes ? `it decodes to ${bytes.length} bytes` : 'it is not base64';
    throw new StateKeyError(
      `${where} must hold the base64 of exactly ${STATE_KEY_BYTES} bytes (44 characters ending in "="), but ${got}. ` +
        'Make a key with: openssl rand -base64 32',
    );
  }
  return new Uint8Array(bytes);
}

const encodeKey = (key: Uint8Array): string => Buffer.from(key).toString('base64');

export function envKeyStore(env: NodeJS.ProcessEnv): KeyStore {
  const cannot = (what: string): never => {
    throw new StateKeyError(`tabcrew cannot ${what} an environment variable of the process that started it; set ${ENV_KEY} / ${ENV_NEXT_KEY} yourself.`);
  };
  return {
    source: 'env',
    where: `the environment variable ${ENV_KEY}`,
    async get(slot) {
      const name = slot === 'current' ? ENV_KEY : ENV_NEXT_KEY;
      const value = env[name];
      return value ? parseKey(value, name) : null;
    },
    create: () => cannot('create'),
    putNext: () => cannot('write'),
    promote: () => cannot('change'),
    clearNext: async () => undefined,
  };
}

export function fileKeyStore(path: string): KeyStore {
  const file = resolve(path);
  const nextFile = `${file}.next`;
  const read = async (f: string): Promise<Uint8Array | null> => {
    let info;
    try {
      info = await stat(f);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    // Like ssh with private keys: a key others can read is as good as published.
    if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
      throw new StateKeyError(
        `The key file ${f} can be read by other users (mode ${(info.mode & 0o777).toString(8)}); tabcrew will not use it. ` +
          `Run: chmod 600 ${f} — and if others may have read it, rotate the key (tabcrew key rotate).`,
      );
    }
    return parseKey(await readFile(f, 'utf8'), `The key file ${f}`);
  };
  // The key is complete on disk before its name appears, so no reader ever sees half a key.
  const writeKeyTemp = async (key: Uint8Array): Promise<string> => {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    return writeTemp(file, `${encodeKey(key)}\n`);
  };
  return {
    source: 'file',
    where: `the key file ${file}`,
    get: (slot) => read(slot === 'current' ? file : nextFile),
    async create(key) {
      const tmp = await writeKeyTemp(key);
      try {
        // link() fails when the name exists: two tabcrews starting at once agree on one key.
        await link(tmp, file);
        await fsyncDir(dirname(file));
        return key;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        return (await read(file))!;
      } finally {
        await unlink(tmp).catch(() => undefined);
      }
    },
    async putNext(key) {
      const tmp = await writeKeyTemp(key);
      await rename(tmp, nextFile);
      await fsyncDir(dirname(file));
    },
    async promote() {
      await rename(nextFile, file);
      await fsyncDir(dirname(file));
    },
    async clearNext() {
      await unlink(nextFile).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
      });
    },
  };
}

export const runSecurity: SecurityRunner = (args) =>
  new Promise((resolvePromise) => {
    // execFile, never a shell: the key travels as one argv entry, with no quoting to get wrong.
    execFile('security', args, { timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolvePromise({ code, stdout: String(stdout), stderr: String(stderr || (error && !stderr ? error.message : '')) });
    });
  });

export class KeychainUnavailableError extends StateKeyError {
  override name = 'KeychainUnavailableError';
}

export function keychainKeyStore(run: SecurityRunner = runSecurity): KeyStore {
  const where = `the macOS Keychain (service "${KEYCHAIN_SERVICE}", account "${KEYCHAIN_ACCOUNT}")`;
  const fail = (what: string, r: { code: number; stderr: string }): never => {
    throw new KeychainUnavailableError(
      `The macOS Keychain could not ${what} (security exited ${r.code}: ${r.stderr.trim() || 'no message'}). ` +
        'Unlock the login keychain (security unlock-keychain), or keep the key elsewhere: --key-source file or env.',
    );
  };
  const find = async (account: string): Promise<Uint8Array | null> => {
    const r = await run(['find-generic-password', '-s', KEYCHAIN_SERVICE, '-a', account, '-w']);
    if (r.code === SECURITY_NOT_FOUND) return null;
    if (r.code !== 0) fail(`read the state key`, r);
    return parseKey(r.stdout, `The Keychain item "${KEYCHAIN_SERVICE}"/"${account}"`);
  };
  const add = async (account: string, key: Uint8Array, update: boolean) => {
    const args = ['add-generic-password', ...(update ? ['-U'] : []), '-s', KEYCHAIN_SERVICE, '-a', account, '-l', 'tabcrew state key'];
    return run([...args, '-w', encodeKey(key)]);
  };
  const remove = async (account: string) => {
    const r = await run(['delete-generic-password', '-s', KEYCHAIN_SERVICE, '-a', account]);
    if (r.code !== 0 && r.code !== SECURITY_NOT_FOUND) fail('delete the pending rotation key', r);
  };
  return {
    source: 'keychain',
    where,
    get: (slot) => find(slot === 'current' ? KEYCHAIN_ACCOUNT : KEYCHAIN_NEXT_ACCOUNT),
    async create(key) {
      // Without -U, add fails on an existing item: two tabcrews starting at once agree on one key.
      const r = await add(KEYCHAIN_ACCOUNT, key, false);
      if (r.code === SECURITY_DUPLICATE) return (await find(KEYCHAIN_ACCOUNT))!;
      if (r.code !== 0) fail('store a new state key', r);
      return key;
    },
    async putNext(key) {
      const r = await add(KEYCHAIN_NEXT_ACCOUNT, key, true);
      if (r.code !== 0) fail('store the new key of the rotation', r);
    },
    async promote() {
      const next = await find(KEYCHAIN_NEXT_ACCOUNT);
      if (!next) throw new StateKeyError(`There is no pending rotation key in ${where} to make current.`);
      const r = await add(KEYCHAIN_ACCOUNT, next, true);
      if (r.code !== 0) fail('make the new key current', r);
      // A crash before this leaves next == current, which openKeys treats as no pending rotation.
      await remove(KEYCHAIN_NEXT_ACCOUNT);
    },
    clearNext: () => remove(KEYCHAIN_NEXT_ACCOUNT),
  };
}

export interface OpenedKeys extends StateKeys {
  store: KeyStore;
  /** True when this call made the key: the caller should tell the user to back it up. */
  created: boolean;
}

/**
 * Finds the state key. `mayCreate` is false when encrypted state already exists: a new key
 * could never read it, so a missing key is an error rather than a fresh start.
 *
 * auto: TABCREW_STATE_KEY when set (explicit beats implicit) → the macOS Keychain (macOS
 * only) → the key file; with none of them holding a key, a new one goes to the Keychain on
 * macOS and to the key file elsewhere.
 */
export async function openKeys(opts: KeyOptions & { mayCreate: boolean; stateDir?: string }): Promise<OpenedKeys> {
  await sodiumReady();
  const env = opts.env ?? process.env;
  const platform = opts.platform ?? process.platform;
  const keyFile = resolve(opts.keyFile ?? defaultKeyFile(env));
  const source = opts.keySource ?? 'auto';
  if (!(KEY_SOURCES as readonly string[]).includes(source)) {
    throw new StateKeyError(`Unknown key source "${source}": use one of ${KEY_SOURCES.join(', ')}.`);
  }
  if (opts.stateDir && (source === 'file' || source === 'auto')) refuseKeyBesideState(keyFile, opts.stateDir, env);
  const keychain = (): KeyStore => {
    if (platform !== 'darwin') {
      throw new StateKeyError(
        `--key-source keychain needs the macOS Keychain, and this is ${platform}. Use --key-source file (the key file ${keyFile}) or env (${ENV_KEY}).`,
      );
    }
    return keychainKeyStore(opts.security);
  };

  let store: KeyStore;
  let current: Uint8Array | null = null;
  let keychainProblem: Error | null = null;
  if (source === 'env' || (source === 'auto' && env[ENV_KEY])) {
    store = envKeyStore(env);
    current = await store.get('current');
    if (!current) throw new StateKeyError(`--key-source env needs ${ENV_KEY}: the base64 of 32 bytes (make one with: openssl rand -base64 32).`);
  } else if (source === 'keychain') {
    store = keychain();
    current = await store.get('current');
  } else if (source === 'file') {
    store = fileKeyStore(keyFile);
    current = await store.get('current');
  } else {
    // auto without the env variable
    const file = fileKeyStore(keyFile);
    store = file;
    if (platform === 'darwin') {
      const kc = keychain();
      try {
        current = await kc.get('current');
        store = kc;
      } catch (e) {
        if (!(e instanceof KeychainUnavailableError)) throw e;
        keychainProblem = e;
      }
    }
    if (!current) {
      const fromFile = await file.get('current');
      if (fromFile) {
        store = file;
        current = fromFile;
      } else if (keychainProblem && opts.mayCreate) {
        // Creating a key file now would split the key between two places once the Keychain works again.
        throw keychainProblem;
      }
    }
  }

  let created = false;
  if (!current) {
    if (!opts.mayCreate) {
      const also = source === 'auto' ? ` (nor does ${platform === 'darwin' ? 'the macOS Keychain or ' : ''}${ENV_KEY})` : '';
      const keychainNote = keychainProblem ? ` ${keychainProblem.message}` : '';
      throw new StateKeyError(
        `The state in ${opts.stateDir ?? 'the state dir'} is encrypted, but ${store.where} holds no key${also}.${keychainNote} ${keyHelp({ ...opts, env, platform })}`,
      );
    }
    current = await store.create(newStateKey());
    created = true;
  }
  let next = await store.get('next');
  if (next && keyIdOf(next) === keyIdOf(current)) next = null;
  return { store, current, next, created };
}

/**
 * Where tabcrew looked for the state key (the source, and the HOME the default key file and
 * the Keychain belong to) and how to give it the right one, for the messages of a missing or
 * wrong key. The usual cause: the state was made under one HOME, and an MCP client starts
 * tabcrew under another (its own HOME, another user, a sandbox), where that key is not.
 */
export function keyHelp(opts: KeyOptions): string {
  const env = opts.env ?? process.env;
  const platform = opts.platform ?? process.platform;
  const source = opts.keySource ?? 'auto';
  const home = env.HOME || homedir();
  const file = resolve(opts.keyFile ?? defaultKeyFile(env));
  const xdg = env.XDG_CONFIG_HOME && isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : undefined;
  const fileWhere = opts.keyFile
    ? `the key file ${file} (--key-file)`
    : `the key file ${file} (the default under ${xdg ? `XDG_CONFIG_HOME=${xdg}` : `HOME=${home}`})`;
  const keychainWhere = `the macOS Keychain of this user (HOME=${home})`;
  const envWhere = `${ENV_KEY} (${env[ENV_KEY] ? 'set' : 'not set'})`;
  const looked =
    source === 'env'
      ? [envWhere]
      : source === 'keychain'
        ? [keychainWhere]
        : source === 'file'
          ? [fileWhere]
          : [envWhere, ...(platform === 'darwin' ? [keychainWhere] : []), fileWhere];
  return (
    `tabcrew looked (--key-source ${source}) in: ${looked.join('; ')}. ` +
    'A state made while tabcrew ran under another HOME has its key there, and an MCP client may start tabcrew with a HOME of its own. ' +
    `Fix: give the key this state was written with — --key-file <that HOME>/.config/tabcrew/state.key, or ${ENV_KEY}=<its base64> ` +
    "in the client's MCP server config (or --key-source keychain|file|env) — or give this HOME a state of its own: --state-dir <dir>."
  );
}

/** Re-reads both slots of the store a running tabcrew already uses (after another process rotated). */
export async function reloadKeys(store: KeyStore): Promise<StateKeys> {
  const current = await store.get('current');
  if (!current) throw new StateKeyError(`${store.where} no longer holds a state key; restore it, or give the key with --key-source.`);
  const next = await store.get('next');
  return { current, next: next && keyIdOf(next) !== keyIdOf(current) ? next : null };
}

// A copy of the state dir (backup, sync, tarball for a bug report) must not carry its own key.
function refuseKeyBesideState(keyFile: string, stateDir: string, env: NodeJS.ProcessEnv): void {
  const rel = relative(resolve(stateDir), keyFile);
  if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))) {
    throw new StateKeyError(
      `The key file ${keyFile} is inside the state dir ${resolve(stateDir)}: anyone with a copy of the state would have its key. ` +
        `Keep it elsewhere (--key-file; the default is ${defaultKeyFile(env)}).`,
    );
  }
}
