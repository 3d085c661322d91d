import { randomBytes } from 'node:crypto';
import { chmod, copyFile, link, mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import lockfile from 'proper-lockfile';
import { ENCRYPTED_STATE_FILE, EncryptedCodec, keyIdOf, sodiumReady, StateDecodeError, type DecodeFailure } from './crypto-codec.js';
import { ENV_KEY, fsyncDir, openKeys, reloadKeys, type KeyOptions } from './keys.js';
import { emptyState, type State } from './types.js';

/** Turns a State into bytes and back. */
export interface StateCodec {
  /** The newest generation's file name in the state dir; `state.json` when absent. */
  readonly fileName?: string;
  encode(state: State): Buffer;
  decode(bytes: Buffer, file: string): State;
  /** Re-reads the keys after a file named a key this codec lacks; true when that changed them. */
  reloadKeys?(): Promise<boolean>;
  /** Which key(s) it tried, for messages; never the key. */
  keyDescription?(): string;
}

/** Plaintext JSON: the previous version's format, read once to migrate it; tests may use it directly. */
export const jsonCodec: StateCodec = {
  encode: (state) => Buffer.from(JSON.stringify(state)),
  decode(bytes, file) {
    try {
      return JSON.parse(bytes.toString('utf8')) as State;
    } catch (e) {
      throw new StateUnreadableError(
        `The state file ${file} is not valid JSON (${(e as Error).message}). ` +
          'It was left untouched: restore it from a backup, or move it aside to start empty.',
        file,
        'damaged',
      );
    }
  },
};

export class StateUnreadableError extends Error {
  override name = 'StateUnreadableError';
  constructor(
    message: string,
    readonly file?: string,
    readonly reason?: DecodeFailure,
  ) {
    super(message);
  }
}

export const LEGACY_STATE_FILE = 'state.json';
/** Earlier good states kept beside the newest: state.enc.1 (previous), state.enc.2. */
export const BACKUP_GENERATIONS = 2;
// Says nothing about what the state holds; proper-lockfile makes it an empty directory.
const LOCK_NAME = 'state.lock';

export interface StateStoreOptions {
  /** How long a crashed holder's lock blocks the others; proper-lockfile's `stale`, at least 2000 ms. */
  lockStaleMs?: number;
}

/**
 * The supervisor's memory on disk. Every change is a locked read-modify-write, so two
 * tabcrew processes on one state dir (Claude Desktop and Claude Code can each start one)
 * never lose each other's updates. Every write goes to a temp file that is fsynced, then
 * the older generations shift and the temp file is renamed over the newest, then the
 * directory is fsynced: a crash leaves the previous or the next state, never a torn one,
 * and the newest name exists at every moment.
 */
export class StateStore {
  readonly file: string;
  /** Things the user should hear about (a new key, a migration); the CLI prints them to stderr. */
  readonly notices: string[] = [];
  /** The state this process last saved, and the identity of the file it saved it as. */
  private lastWritten?: { identity: string; state: State };
  /** Updates of this process queue here, so the lock file is contended only across processes. */
  private queue: Promise<unknown> = Promise.resolve();
  private ready: Promise<void> | null = null;
  private lockLost: Error | null = null;

  constructor(
    readonly dir: string,
    private readonly codec: StateCodec = jsonCodec,
    private readonly options: StateStoreOptions = {},
  ) {
    this.file = join(dir, codec.fileName ?? LEGACY_STATE_FILE);
  }

  /** The newest generation first: state.enc, state.enc.1, state.enc.2. */
  get generations(): string[] {
    return [this.file, ...Array.from({ length: BACKUP_GENERATIONS }, (_, i) => `${this.file}.${i + 1}`)];
  }

  /** Creates the private dir, removes leftovers of crashed writes, migrates a plaintext state. Idempotent. */
  init(): Promise<void> {
    this.ready ??= this.prepare().catch((e: unknown) => {
      this.ready = null;
      throw e;
    });
    return this.ready;
  }

  async read(): Promise<State> {
    await this.init();
    return this.readNewest();
  }

  /** One generation's state (null when that file does not exist), with the same errors as read(). */
  async readGeneration(file: string): Promise<State | null> {
    const bytes = await readIfExists(file);
    return bytes ? this.decode(file, bytes) : null;
  }

  /** Runs `change` on the freshest state under the lock and saves what it leaves. */
  update<T>(change: (state: State) => T): Promise<T> {
    const next = this.queue.then(() => this.lockedUpdate(change));
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Runs `fn` holding the state dir's lock; key rotation uses it to keep every writer out. */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const lockPath = join(this.dir, LOCK_NAME);
    let release: () => Promise<void>;
    try {
      release = await lockfile.lock(this.dir, {
        lockfilePath: lockPath,
        realpath: false,
        stale: this.options.lockStaleMs ?? 15_000,
        retries: { retries: 300, factor: 1.2, minTimeout: 5, maxTimeout: 100 },
        // The default handler throws from a timer and kills the process; refusing the write is enough.
        onCompromised: (e) => {
          this.lockLost = e;
        },
      });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ELOCKED') throw e;
      throw new Error(
        `Another tabcrew process has held the state lock ${lockPath} for too long. ` +
          `If no other tabcrew is running on ${this.dir}, remove that directory (rmdir ${lockPath}) and retry.`,
      );
    }
    this.lockLost = null;
    try {
      return await fn();
    } finally {
      await release().catch(() => undefined);
    }
  }

  private async lockedUpdate<T>(change: (state: State) => T): Promise<T> {
    await this.init();
    return this.exclusive(async () => {
      // The file is exactly what this process last wrote (same inode, size and times: any
      // other writer renames a new file in): its state need not be decrypted again.
      const identity = await fileIdentity(this.file);
      const mine = this.lastWritten && identity !== undefined && identity === this.lastWritten.identity ? this.lastWritten.state : undefined;
      this.lastWritten = undefined; // about to be changed in place; restored only once saved
      const state = mine ?? (await this.readNewest());
      const result = change(state);
      await this.writeGeneration(this.codec.encode(state));
      const written = await fileIdentity(this.file);
      if (written !== undefined) this.lastWritten = { identity: written, state };
      return result;
    });
  }

  private async prepare(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await this.makeDirPrivate();
    await this.exclusive(async () => {
      // Every write happens under this lock, so a temp file seen now belongs to a crashed writer.
      for (const name of await readdir(this.dir)) {
        if (name.startsWith(`${basename(this.file)}.tmp-`)) await unlink(join(this.dir, name)).catch(() => undefined);
      }
      await this.migratePlaintext();
      for (const file of this.generations) await tightenMode(file, 0o600);
    });
  }

  private async makeDirPrivate(): Promise<void> {
    const mode = (await stat(this.dir)).mode & 0o777;
    if ((mode & 0o077) === 0) return;
    // Only a dir that is evidently tabcrew's own is changed: --state-dir /tmp must not chmod /tmp.
    const foreign = (await readdir(this.dir)).filter((n) => !n.startsWith('state.') && n !== '.gitkeep');
    if (foreign.length === 0) {
      await chmod(this.dir, 0o700);
      return;
    }
    this.notice(
      `The state dir ${this.dir} can be listed by other users (mode ${mode.toString(8)}) and holds files tabcrew did not make, so its mode was left alone; ` +
        `the state files themselves are private (0600). Run chmod 700 ${this.dir}, or pick a dir of its own with --state-dir.`,
    );
  }

  private async readNewest(): Promise<State> {
    for (const file of this.generations) {
      const bytes = await readIfExists(file);
      if (!bytes) continue;
      if (file !== this.file) this.notice(`${this.file} is missing (moved aside?); reading the earlier generation ${file}.`);
      return this.decode(file, bytes);
    }
    return emptyState();
  }

  private async decode(file: string, bytes: Buffer): Promise<State> {
    try {
      return this.codec.decode(bytes, file);
    } catch (e) {
      // Another tabcrew may have rotated the key since this one read it.
      if (e instanceof StateDecodeError && e.kind === 'wrong-key' && this.codec.reloadKeys && (await this.codec.reloadKeys())) {
        try {
          return this.codec.decode(bytes, file);
        } catch (again) {
          throw await this.explain(file, again);
        }
      }
      throw await this.explain(file, e);
    }
  }

  /** Says which file, what is wrong with it, that it was not touched, and what to do. */
  private async explain(file: string, e: unknown): Promise<Error> {
    if (e instanceof StateUnreadableError) return new StateUnreadableError(`${e.message} ${await this.olderGenerationHint(file)}`, file, e.reason);
    if (!(e instanceof StateDecodeError)) return e as Error;
    const head = `tabcrew cannot read its state: ${file} ${e.detail}. tabcrew stopped and left the file untouched.`;
    switch (e.kind) {
      case 'wrong-key':
        return new StateUnreadableError(
          `${head} The key tabcrew was given is ${this.codec.keyDescription?.() ?? 'another one'}. ` +
            `Give the key this state was written with: --key-source keychain|file|env, --key-file <path>, or ${ENV_KEY}=<base64>. ` +
            '(A key id is a keyed hash that names a key without revealing it.)',
          file,
          e.kind,
        );
      case 'newer-format':
        return new StateUnreadableError(
          `${head} Upgrade tabcrew to the version that wrote it (npm install -g tabcrew@latest).${e.extra.range ? ` ${await this.olderGenerationHint(file)}` : ''}`,
          file,
          e.kind,
        );
      default:
        return new StateUnreadableError(`${head} ${await this.olderGenerationHint(file)}`, file, e.kind);
    }
  }

  private async olderGenerationHint(file: string): Promise<string> {
    const older = this.generations.slice(this.generations.indexOf(file) + 1);
    for (const candidate of older) {
      const bytes = await readIfExists(candidate);
      if (!bytes) continue;
      try {
        const state = this.codec.decode(bytes, candidate);
        const when = (await stat(candidate)).mtime.toISOString();
        return (
          `The earlier generation ${candidate} (saved ${when}, ${state.agents?.length ?? 0} agents) is intact: ` +
          `move the unreadable file aside to use it (mv ${file} ${file}.damaged), then start tabcrew again.`
        );
      } catch {
        // try an older one
      }
    }
    return (
      `No earlier generation can be read either. To start with an empty state, move ${this.file} and its numbered generations aside; ` +
      'running agents keep their tabs and are reported as orphans.'
    );
  }

  /** The new state becomes the newest generation; the previous newest becomes .1, .1 becomes .2. */
  private async writeGeneration(bytes: Buffer): Promise<void> {
    const tmp = await writeTemp(this.file, bytes);
    try {
      const gens = this.generations;
      for (let i = gens.length - 1; i > 1; i--) await renameIfExists(gens[i - 1]!, gens[i]!);
      // A hard link, not a rename: the newest name must exist at every instant a crash can hit.
      if (gens.length > 1) await linkOrCopy(gens[0]!, gens[1]!);
      if (this.lockLost) {
        throw new Error(`The state lock in ${this.dir} was lost (${this.lockLost.message}); this change was not saved, to avoid overwriting another process's.`);
      }
      await rename(tmp, this.file);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
    await fsyncDir(this.dir);
  }

  private async migratePlaintext(): Promise<void> {
    if (basename(this.file) === LEGACY_STATE_FILE) return;
    const legacy = join(this.dir, LEGACY_STATE_FILE);
    // The previous version's write-file-atomic temp files (state.json.<number>) are plaintext too.
    const leftovers = (await readdir(this.dir)).filter((n) => n.startsWith(`${LEGACY_STATE_FILE}.`)).map((n) => join(this.dir, n));
    const bytes = await readIfExists(legacy);
    if (!bytes && leftovers.length === 0) return;
    if (bytes) {
      const encryptedExists = (await Promise.all(this.generations.map(readIfExists))).some(Boolean);
      if (encryptedExists) {
        // Only an interrupted migration leaves both: the encrypted copy was written first.
        this.notice(`Erased ${legacy}, a plaintext copy left beside the encrypted ${this.file} by an interrupted migration.`);
      } else {
        const state = jsonCodec.decode(bytes, legacy);
        await this.writeGeneration(this.codec.encode(state));
        this.notice(
          `Moved the plaintext state ${legacy} into the encrypted ${this.file} and erased the plaintext ` +
            '(overwritten, then deleted; copies in backups, snapshots or SSD spare blocks are beyond tabcrew’s reach).',
        );
      }
    }
    for (const file of bytes ? [legacy, ...leftovers] : leftovers) await scrub(file);
    await fsyncDir(this.dir);
  }

  private notice(text: string): void {
    if (!this.notices.includes(text)) this.notices.push(text);
  }
}

export interface OpenStateStoreOptions extends KeyOptions, StateStoreOptions {
  dir: string;
}

/**
 * The store tabcrew runs on: encrypted, keyed from --key-source, with a plaintext state of
 * the previous version migrated, and already proven readable (else StateUnreadableError).
 * Show `store.notices` to the user.
 */
export async function openStateStore(opts: OpenStateStoreOptions): Promise<StateStore> {
  await sodiumReady();
  const dir = resolve(opts.dir);
  const keys = await openKeys({ ...opts, stateDir: dir, mayCreate: !(await hasEncryptedState(dir)) });
  const codec = await EncryptedCodec.create(keys, { where: keys.store.where, reload: () => reloadKeys(keys.store) });
  const store = new StateStore(dir, codec, { lockStaleMs: opts.lockStaleMs });
  if (keys.created) {
    store.notices.push(
      `Created a new state key in ${keys.store.where} (key id ${keyIdOf(keys.current)}). Without it the state cannot be read: keep a copy somewhere safe.`,
    );
  }
  if (keys.next) {
    store.notices.push(
      `A key rotation was interrupted: ${keys.store.where} holds a pending key (key id ${keyIdOf(keys.next)}). ` +
        'Run `tabcrew key rotate` to finish it; until then tabcrew reads with both keys.',
    );
  }
  await store.init();
  // A state that cannot be read stops tabcrew here, before anything else depends on it.
  await store.read();
  return store;
}

// ---- file steps shared with key rotation -------------------------------------------------

/** Whether any generation of an encrypted state is in `dir`: then only its own key may be used. */
export async function hasEncryptedState(dir: string): Promise<boolean> {
  const probe = new StateStore(dir, { fileName: ENCRYPTED_STATE_FILE, encode: () => Buffer.alloc(0), decode: () => emptyState() });
  return (await Promise.all(probe.generations.map(readIfExists))).some(Boolean);
}

/** Writes bytes to a fresh 0600 temp file beside `file` and fsyncs it; the caller renames it. */
export async function writeTemp(file: string, bytes: Buffer): Promise<string> {
  const tmp = `${file}.tmp-${randomBytes(6).toString('hex')}`;
  const handle = await open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return tmp;
}

/** Replaces `file` with `bytes` atomically and durably, without shifting generations. */
export async function replaceFile(file: string, bytes: Buffer): Promise<void> {
  const tmp = await writeTemp(file, bytes);
  try {
    await rename(tmp, file);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fsyncDir(resolve(file, '..'));
}

export async function readIfExists(file: string): Promise<Buffer | null> {
  try {
    return await readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

async function renameIfExists(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code === 'EEXIST') {
      await unlink(to);
      return linkOrCopy(from, to);
    }
    // Filesystems without hard links: a copy renamed into place is as good for a backup.
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV' && code !== 'EMLINK') throw e;
    const tmp = `${from}.tmp-${randomBytes(6).toString('hex')}`;
    await copyFile(from, tmp);
    await rename(tmp, to);
  }
}

async function tightenMode(file: string, mode: number): Promise<void> {
  try {
    const current = (await stat(file)).mode & 0o777;
    if (current & ~mode) await chmod(file, mode);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/** Best effort: overwrite with zeros, fsync, unlink. Journals, snapshots and SSD remapping may keep old blocks. */
async function scrub(file: string): Promise<void> {
  let handle;
  try {
    handle = await open(file, 'r+');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  try {
    const { size } = await handle.stat();
    if (size > 0) await handle.write(Buffer.alloc(size), 0, size, 0);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await unlink(file);
}

async function fileIdentity(file: string): Promise<string | undefined> {
  try {
    const st = await stat(file, { bigint: true });
    return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  } catch {
    return undefined;
  }
}
