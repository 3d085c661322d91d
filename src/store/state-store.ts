import { randomBytes } from 'node:crypto';
import { watch as watchDir } from 'node:fs';
import { chmod, mkdir, readdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { jsonCodec, StateDecodeError, type StateCodec } from './codec.js';
import { ENCRYPTED_STATE_FILE, EncryptedCodec, keyIdOf, sodiumReady } from './crypto-codec.js';
import { fileIdentity, fsyncDir, linkOrCopy, readIfExists, renameIfExists, replaceFile, tightenMode, writeTemp } from './files.js';
import { keyHelp, openKeys, reloadKeys, type KeyOptions } from './keys.js';
import { KnownState } from './known-state.js';
import { MARK_SUFFIX, openMark, sealMark } from './mark.js';
import { LEGACY_STATE_FILE, migratePlaintext } from './plaintext-migration.js';
import { withStateLock } from './state-lock.js';
import { explainUnreadable, markError, rollbackError, type StateFiles } from './state-problems.js';
import { emptyState, STATE_VERSION, type State } from './types.js';
import { parseState } from './validate.js';
import { NextRound } from '../util/next-round.js';
import { UpdateBatches } from './update-batches.js';

export { ACCEPT_ROLLBACK_COMMAND, StateUnreadableError } from './state-problems.js';
export { LEGACY_STATE_FILE } from './plaintext-migration.js';

/** Earlier good states kept beside the newest: state.enc.1 (previous), state.enc.2. */
export const BACKUP_GENERATIONS = 2;

/**
 * Called inside the locked update, after the change and just before encoding: the last word
 * on what is saved (the audit log puts its head into `state.audit` here). Synchronous, so the
 * lock is held no longer than the save needs; throwing aborts the save and rejects the update.
 */
export type BeforeSave = (state: State) => void;

export interface StateStoreOptions {
  /** How long a crashed holder's lock blocks the others; proper-lockfile's `stale`, at least 2000 ms. */
  lockStaleMs?: number;
  beforeSave?: BeforeSave;
  /** Where the key was looked for and how to give another (keys.ts keyHelp), for a wrong-key message. */
  keyHelp?: string;
}

export interface AcceptRollbackResult {
  /** The generation file that was accepted. */
  file: string;
  /** Its generation, and the newest one tabcrew had written (null: the mark was missing or not authentic). */
  acceptedGeneration: number;
  markGeneration: number | null;
  /** False when there was nothing to accept: the state was already the newest. */
  changed: boolean;
  /** The generation it was saved as (above every earlier one), when changed. */
  generation: number;
}

/**
 * The supervisor's memory on disk. Every change is a locked read-modify-write, so two
 * tabcrew processes on one state dir (Claude Desktop and Claude Code can each start one)
 * never lose each other's updates. Every write goes to a temp file that is fsynced, then
 * the older generations shift and the temp file is renamed over the newest, then the
 * directory is fsynced: a crash leaves the previous or the next state, never a torn one,
 * and the newest name exists at every moment. After it the high-water mark (mark.ts) is
 * raised to the new generation; a state read below the mark is a rollback and is refused.
 */
export class StateStore {
  readonly file: string;
  /** The high-water mark: the newest generation written, MAC'd (state.enc.mark). */
  readonly markFile: string;
  /** Things the user should hear about (a new key, a migration); the CLI prints them to stderr. */
  readonly notices: string[] = [];
  /** The newest file's state as last saved or validated (known-state.ts). Reads get a copy; an update takes the object itself, unless it was lent. */
  private readonly known = new KnownState();
  private readonly identityRounds = new NextRound(() => fileIdentity(this.file));
  /** Updates of this process queue here, so the lock file is contended only across processes. */
  private queue: Promise<unknown> = Promise.resolve();
  private ready: Promise<void> | null = null;
  private lockLost: Error | null = null;
  private beforeSaveHook?: BeforeSave;
  /** Set once this process has seen the mark file exist (nothing but a person removes it). */
  private markInPlace = false;
  /** This process's change and save under way (see read). */
  private saving?: Promise<unknown>;
  /** updateBatched calls waiting to be saved together (see there). */
  private readonly batches = new UpdateBatches(
    (run) => {
      const next = this.queue.then(run);
      this.queue = next.catch(() => undefined);
    },
    (change) => this.lockedUpdate(change),
  );

  constructor(
    readonly dir: string,
    private readonly codec: StateCodec = jsonCodec,
    private readonly options: StateStoreOptions = {},
  ) {
    this.file = join(dir, codec.fileName ?? LEGACY_STATE_FILE);
    this.markFile = `${this.file}${MARK_SUFFIX}`;
    this.beforeSaveHook = options.beforeSave;
  }

  /** Sets (or, with undefined, removes) the hook every save calls just before encoding; see BeforeSave. */
  setBeforeSave(hook: BeforeSave | undefined): void {
    this.beforeSaveHook = hook;
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

  /** The newest state, validated and migrated; a rollback, a damaged or an invalid file is a StateUnreadableError. */
  async read(): Promise<State> {
    return this.peek((state) => structuredClone(state));
  }

  /**
   * Runs `look` on the newest state without copying it, for a reader that wants a small part of it (one agent, the
   * messages): a copy of a crew's whole state for each of them was most of the server's CPU while sixteen agents
   * started. `look` must not change the state nor keep it: what it returns is copied by it, or is not part of the state.
   */
  async peek<T>(look: (state: Readonly<State>) => T): Promise<T> {
    await this.init();
    // A save of this process under way will leave its state known: the file read meanwhile
    // (the previous generation, or the new one before it is known) would be decrypted and
    // validated again, which a crew's state watchers, firing on that very save, all did.
    if (this.saving) await this.saving.catch(() => undefined);
    // Identity first, bytes after: a file renamed in between is then only a miss next time, never a wrong hit.
    const identity = await fileIdentity(this.file);
    const known = this.known.get(identity);
    if (known) return look(known);
    const { file, state } = await this.readNewest(true);
    if (file === this.file) this.known.set(identity, state);
    return look(state);
  }

  /**
   * The newest state uncopied, never changed afterwards (an update changes a copy): for a reader that holds it
   * across awaits and changes nothing in it, nor in what it hands on (a status view).
   */
  async snapshot(): Promise<Readonly<State>> {
    return this.peek((state) => this.known.lend(state as State));
  }

  /** The newest state file's identity (device, inode, size, times); callers at once share a stat. */
  identity(): Promise<string | undefined> {
    return this.identityRounds.run();
  }

  /**
   * Calls `listener` when the state file may have changed (fs.watch on the dir: this process's
   * saves included, several calls per save); nothing where the platform cannot watch.
   * Returns the unsubscribe.
   */
  watch(listener: () => void): () => void {
    const name = basename(this.file);
    try {
      const w = watchDir(this.dir, { persistent: false }, (_type, file) => {
        if (file === null || String(file).startsWith(name)) listener();
      });
      w.on('error', () => w.close());
      return () => w.close();
    } catch {
      return () => undefined;
    }
  }

  /** One generation's state (null when that file does not exist), validated; no rollback check. */
  async readGeneration(file: string): Promise<State | null> {
    const bytes = await readIfExists(file);
    return bytes ? this.decode(file, bytes) : null;
  }

  /** The generation the high-water mark records (null when there is none); throws when it is not authentic. */
  async readMark(): Promise<number | null> {
    return this.verifyMark(await readIfExists(this.markFile));
  }

  /** Runs `change` on the freshest state under the lock and saves what it leaves. */
  update<T>(change: (state: State) => T): Promise<T> {
    // Batched calls made after this one go after it.
    this.batches.close();
    const next = this.queue.then(() => this.lockedUpdate(change));
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * Like update, but saved together with the other updateBatched calls waiting for the lock:
   * one lock and one save (three fsyncs) for all of them, not one each. Sixteen agents being
   * resumed at once otherwise queue sixteen saves for their claims and sixteen for their tabs.
   * `change` must be a function of the state alone (no effect outside it, no closure it
   * appends to): when one change of a batch throws, the batch is dropped unsaved and each
   * change is run again on its own, so the others still get their single-update semantics.
   */
  updateBatched<T>(change: (state: State) => T): Promise<T> {
    return this.batches.add(change);
  }

  /** The audit log's key (base64 of 32 bytes): the one in the state, made and saved first when missing. */
  async auditKey(): Promise<string> {
    const state = await this.read();
    if (state.auditKey) return state.auditKey;
    // Every save fills a missing auditKey; another process may win, and then its key is the one.
    return this.update(ensureAuditKey);
  }

  /**
   * Takes the newest readable generation as the newest state although it is older than the
   * high-water mark (a rollback someone meant): saves it as a generation above every earlier
   * one and raises the mark, so nothing is refused afterwards. A state that is not a rollback is left as is.
   */
  async acceptRollback(): Promise<AcceptRollbackResult> {
    await this.init();
    return this.exclusive(async () => {
      const mark = await this.openMarkBytes(await readIfExists(this.markFile));
      const markGeneration = mark && 'generation' in mark ? mark.generation : null;
      const { file, state } = await this.readNewest(false);
      const acceptedGeneration = state.generation;
      const current = markGeneration !== null ? acceptedGeneration >= markGeneration : mark === null && acceptedGeneration <= 1;
      if (current && file === this.file) {
        return { file, acceptedGeneration, markGeneration, changed: false, generation: acceptedGeneration };
      }
      state.generation = Math.max(acceptedGeneration, markGeneration ?? 0);
      await this.save(state);
      return { file, acceptedGeneration, markGeneration, changed: true, generation: state.generation };
    });
  }

  /** Runs `fn` holding the state dir's lock; key rotation uses it to keep every writer out. */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const lost = (e: Error): void => void (this.lockLost = e);
    return withStateLock(this.dir, this.options.lockStaleMs ?? 15_000, lost, () => {
      this.lockLost = null;
      return fn();
    });
  }

  private async lockedUpdate<T>(change: (state: State) => T): Promise<T> {
    await this.init();
    return this.exclusive(async () => {
      // The file is exactly what this process last wrote (same inode, size and times: any
      // other writer renames a new file in): its state need not be decrypted, validated or
      // checked against the mark again.
      const mine = this.known.take(await fileIdentity(this.file));
      const saving = (async () => {
        const state = mine ?? (await this.readNewest(true)).state;
        const result = change(state);
        await this.save(state);
        return result;
      })();
      this.saving = saving;
      try {
        return await saving;
      } finally {
        if (this.saving === saving) this.saving = undefined;
      }
    });
  }

  /** Under the lock: the next generation, the audit key, the hook, then the write. */
  private async save(state: State): Promise<void> {
    state.version = STATE_VERSION;
    state.generation = (state.generation ?? 0) + 1;
    ensureAuditKey(state);
    this.beforeSaveHook?.(state);
    await this.writeGeneration(this.codec.encode(state), state.generation);
    this.known.set(await fileIdentity(this.file), state);
  }

  private async prepare(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await this.makeDirPrivate();
    await this.exclusive(async () => {
      // Every write happens under this lock, so a temp file seen now belongs to a crashed writer.
      const temps = [`${basename(this.file)}.tmp-`, `${basename(this.markFile)}.tmp-`];
      for (const name of await readdir(this.dir)) {
        if (temps.some((t) => name.startsWith(t))) await unlink(join(this.dir, name)).catch(() => undefined);
      }
      await migratePlaintext(
        this,
        (state) => this.save(state),
        (text) => this.notice(text),
      );
      for (const file of [...this.generations, this.markFile]) await tightenMode(file, 0o600);
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

  private async readNewest(checkRollback: boolean): Promise<{ file: string; state: State }> {
    // The mark before the state: a writer raises the mark only after its state is in place,
    // so a state read after the mark is never below it unless something else put it there.
    // Its MAC is checked after the state is decoded, so that a wrong key is reported as that.
    const markBytes = checkRollback ? await readIfExists(this.markFile) : null;
    for (const file of this.generations) {
      const bytes = await readIfExists(file);
      if (!bytes) continue;
      if (file !== this.file) this.notice(`${this.file} is missing (moved aside?); reading the earlier generation ${file}.`);
      const state = await this.decode(file, bytes);
      if (checkRollback) this.refuseRollback(file, state, await this.verifyMark(markBytes));
      return { file, state };
    }
    const mark = checkRollback ? await this.verifyMark(markBytes) : null;
    if (mark !== null && mark > 0) this.refuseRollback(this.file, emptyState(), mark, true);
    return { file: this.file, state: emptyState() };
  }

  private refuseRollback(file: string, state: State, mark: number | null, missing = false): void {
    const refusal = rollbackError(this.files, file, state, mark, missing);
    if (refusal) throw refusal;
  }

  /** This store's files and codec, as the messages of state-problems.ts name them. */
  private get files(): StateFiles {
    return { dir: this.dir, file: this.file, markFile: this.markFile, generations: this.generations, codec: this.codec, keyHelp: this.options.keyHelp };
  }

  private async verifyMark(bytes: Buffer | null): Promise<number | null> {
    const mark = await this.openMarkBytes(bytes);
    if (mark === null) return null;
    if ('generation' in mark) return mark.generation;
    throw markError(this.files, mark.problem);
  }

  private async openMarkBytes(bytes: Buffer | null): Promise<ReturnType<typeof openMark> | null> {
    if (!bytes) return null;
    const mark = openMark(bytes, this.codec.markKeys());
    // Another tabcrew may have rotated the key since this one read it.
    if ('problem' in mark && this.codec.reloadKeys && (await this.codec.reloadKeys())) return openMark(bytes, this.codec.markKeys());
    return mark;
  }

  private async decode(file: string, bytes: Buffer, codec: StateCodec = this.codec): Promise<State> {
    try {
      return parseState(codec.decode(bytes, file));
    } catch (e) {
      // Another tabcrew may have rotated the key since this one read it.
      if (e instanceof StateDecodeError && e.kind === 'wrong-key' && codec.reloadKeys && (await codec.reloadKeys())) {
        try {
          return parseState(codec.decode(bytes, file));
        } catch (again) {
          throw await explainUnreadable(this.files, file, again);
        }
      }
      throw await explainUnreadable(this.files, file, e);
    }
  }

  /**
   * The new state becomes the newest generation; the previous newest becomes .1, .1 becomes .2;
   * then the mark is raised to `generation`. Both temp files are written (and fsynced) at once.
   */
  private async writeGeneration(bytes: Buffer, generation: number): Promise<void> {
    // A missing mark is refused once the state is past generation 1, so the first save puts one in place
    // (at the generation already on disk) before anything else: a crash then never leaves a later state without a mark.
    if (!this.markInPlace && !(await readIfExists(this.markFile))) await replaceFile(this.markFile, sealMark(generation - 1, this.codec.markKeys()[0]!));
    this.markInPlace = true;
    const [tmp, markTmp] = await Promise.all([writeTemp(this.file, bytes), writeTemp(this.markFile, sealMark(generation, this.codec.markKeys()[0]!))]);
    try {
      const gens = this.generations;
      for (let i = gens.length - 1; i > 1; i--) await renameIfExists(gens[i - 1]!, gens[i]!);
      // A hard link, not a rename: the newest name must exist at every instant a crash can hit.
      if (gens.length > 1) await linkOrCopy(gens[0]!, gens[1]!);
      if (this.lockLost) {
        throw new Error(
          `The state lock in ${this.dir} was lost (${this.lockLost.message}); this change was not saved, to avoid overwriting another process's.`,
        );
      }
      await rename(tmp, this.file);
    } catch (e) {
      await Promise.all([unlink(tmp).catch(() => undefined), unlink(markTmp).catch(() => undefined)]);
      throw e;
    }
    await fsyncDir(this.dir);
    // After the state is durable, never before: a mark above the state on disk would be a false rollback.
    // Its own rename reaches the disk with the next save's fsync; losing it to a crash only leaves the mark one lower.
    await rename(markTmp, this.markFile).catch(async (e: unknown) => {
      await unlink(markTmp).catch(() => undefined);
      throw e;
    });
  }

  private notice(text: string): void {
    if (!this.notices.includes(text)) this.notices.push(text);
  }
}

/** Fills a missing audit key: base64 of 32 random bytes, made once and kept by every later save. */
function ensureAuditKey(state: State): string {
  return (state.auditKey ??= randomBytes(32).toString('base64'));
}

export interface OpenStateStoreOptions extends KeyOptions, StateStoreOptions {
  dir: string;
  /** Default true: read the state once, so an unreadable one stops tabcrew here. `state accept-rollback` skips it. */
  readOnOpen?: boolean;
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
  const store = new StateStore(dir, codec, { lockStaleMs: opts.lockStaleMs, beforeSave: opts.beforeSave, keyHelp: keyHelp(opts) });
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
  if (opts.readOnOpen !== false) await store.read();
  return store;
}

/** Whether any generation of an encrypted state is in `dir`: then only its own key may be used. */
export async function hasEncryptedState(dir: string): Promise<boolean> {
  const file = join(dir, ENCRYPTED_STATE_FILE);
  return (await Promise.all([file, ...Array.from({ length: BACKUP_GENERATIONS }, (_, i) => `${file}.${i + 1}`)].map(readIfExists))).some(Boolean);
}
