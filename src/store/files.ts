import { randomBytes } from 'node:crypto';
import { chmod, copyFile, link, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { identityOf } from '../util/file-look.js';

/*
 * The durable file steps the store, the key file and key rotation share. Nothing here knows
 * what a state is: these are the only places that fsync, rename and link.
 */

/** Writes bytes to a fresh 0600 temp file beside `file` and fsyncs it; the caller renames it. */
export async function writeTemp(file: string, bytes: Buffer | string): Promise<string> {
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
export async function replaceFile(file: string, bytes: Buffer | string): Promise<void> {
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

export async function renameIfExists(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

export async function linkOrCopy(from: string, to: string): Promise<void> {
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

export async function tightenMode(file: string, mode: number): Promise<void> {
  try {
    const current = (await stat(file)).mode & 0o777;
    if (current & ~mode) await chmod(file, mode);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/** Best effort: overwrite with zeros, fsync, unlink. Journals, snapshots and SSD remapping may keep old blocks. */
export async function scrub(file: string): Promise<void> {
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

/**
 * Device, inode, size and times: another writer renames a new file in, so any change shows here (util/file-look.ts).
 * Asked at every read of the state, of a file in tabcrew's own state dir: a synchronous stat, not a thread-pool
 * round trip that waits behind whatever file work the pool has (util/file-look.ts says why that matters).
 */
export async function fileIdentity(file: string): Promise<string | undefined> {
  try {
    const st = statSync(file, { throwIfNoEntry: false });
    return st && identityOf(st);
  } catch {
    return undefined;
  }
}

// rename() and link() are only durable once the directory entry reaches the disk.
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (e) {
    // Some filesystems cannot sync a directory; the rename is as durable as they allow.
    if (!['EINVAL', 'EISDIR', 'EPERM', 'ENOTSUP'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
  } finally {
    await handle.close();
  }
}
