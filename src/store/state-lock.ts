import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';

// Says nothing about what the state holds; proper-lockfile makes it an empty directory.
const LOCK_NAME = 'state.lock';

/**
 * The state dir's lock, across processes: every write and key rotation runs holding it.
 * `onLost` hears of a lock taken away while held (a stale takeover); the write that follows
 * must then be refused, not thrown from a timer.
 */
export async function withStateLock<T>(dir: string, staleMs: number, onLost: (e: Error) => void, fn: () => Promise<T>): Promise<T> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const lockPath = join(dir, LOCK_NAME);
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(dir, {
      lockfilePath: lockPath,
      realpath: false,
      stale: staleMs,
      retries: { retries: 300, factor: 1.2, minTimeout: 5, maxTimeout: 100 },
      // The default handler throws from a timer and kills the process; refusing the write is enough.
      onCompromised: onLost,
    });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ELOCKED') throw e;
    throw new Error(
      `Another tabcrew process has held the state lock ${lockPath} for too long. ` +
        `If no other tabcrew is running on ${dir}, remove that directory (rmdir ${lockPath}) and retry.`,
      { cause: e },
    );
  }
  try {
    return await fn();
  } finally {
    await release().catch(() => undefined);
  }
}
