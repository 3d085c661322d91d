import { mkdir, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import writeFileAtomic from 'write-file-atomic';
import { emptyState, type State } from './types.js';

/** Turns a State into bytes and back; the encrypted codec replaces the JSON one. */
export interface StateCodec {
  encode(state: State): Buffer;
  decode(bytes: Buffer, file: string): State;
}

export const jsonCodec: StateCodec = {
  encode: (state) => Buffer.from(JSON.stringify(state)),
  decode(bytes, file) {
    try {
      return JSON.parse(bytes.toString('utf8')) as State;
    } catch (e) {
      throw new StateUnreadableError(
        `The state file ${file} is not valid JSON (${(e as Error).message}). ` +
          'It was left untouched: restore it from a backup, or move it aside to start empty.',
      );
    }
  },
};

export class StateUnreadableError extends Error {
  override name = 'StateUnreadableError';
}

/**
 * The supervisor's memory on disk. Every change is a locked read-modify-write, so two
 * tabcrew processes on one state dir (Claude Desktop and Claude Code can each start one)
 * never lose each other's updates; every write is temp file + fsync + rename + directory
 * fsync, so a crash leaves the previous or the next state, never a torn one.
 */
export class StateStore {
  readonly file: string;
  /** Updates of this process queue here, so the lock file is contended only across processes. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly dir: string,
    private readonly codec: StateCodec = jsonCodec,
  ) {
    this.file = join(dir, 'state.json');
  }

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
  }

  async read(): Promise<State> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return emptyState();
      throw e;
    }
    return this.codec.decode(bytes, this.file);
  }

  /** Runs `change` on the freshest state under the lock and saves what it leaves. */
  update<T>(change: (state: State) => T): Promise<T> {
    const next = this.queue.then(() => this.lockedUpdate(change));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async lockedUpdate<T>(change: (state: State) => T): Promise<T> {
    await this.init();
    const release = await lockfile.lock(this.dir, {
      lockfilePath: join(this.dir, 'state.lock'),
      realpath: false,
      stale: 15_000,
      retries: { retries: 200, factor: 1.2, minTimeout: 5, maxTimeout: 100 },
    });
    try {
      const state = await this.read();
      const result = change(state);
      await writeFileAtomic(this.file, this.codec.encode(state), { mode: 0o600, fsync: true });
      await fsyncDir(this.dir);
      return result;
    } finally {
      await release();
    }
  }
}

// rename() is only durable once the directory entry itself reaches the disk.
async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
