import { stat, statSync, type Stats } from 'node:fs';

/*
 * Stats of local files, as the status path takes them: a session status of 64 agents looks at
 * each one's hook spool and transcript, and most looks find nothing new. fs/promises' stat costs
 * about twice the CPU of the callback one, and a missing file (a transcript not written yet)
 * five times: it rejects with an Error carrying a stack. Here a missing file is `undefined`.
 */

/** The file's stats, or undefined when it (or a folder on its path) does not exist. */
export function statOf(path: string): Promise<Stats | undefined> {
  return new Promise((resolve, reject) => {
    stat(path, (err, st) => {
      if (!err) resolve(st);
      else if (err.code === 'ENOENT' || err.code === 'ENOTDIR') resolve(undefined);
      else reject(err);
    });
  });
}

/**
 * Device, inode, size and times: another writer renames a new file in, and an appender grows
 * it, so any change shows here. The times are milliseconds as doubles, exact to a quarter of a
 * microsecond today, not bigint nanoseconds (a bigint stat costs more and leaves more garbage):
 * to go unseen, a change would have to keep the inode and the size and land within that quarter
 * microsecond of the previous write, and the files compared this way are replaced by a rename
 * (the state: a new inode) or only grow (spools, transcripts).
 */
export function identityOf(st: Stats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

/**
 * One look at a set of files: each file is stat'ed once, whoever asks during the look (a
 * status's spool, transcript and usage readers ask about the same files). A look lives as long
 * as one call: it never answers a later call with what an earlier one saw.
 *
 * Its stats are synchronous: a status of 64 agents takes ~130, and each through the thread pool
 * cost ~5 µs of CPU and, on a loaded machine, a thread wake-up each (the status took twice as
 * long), where the syscall itself takes 1–3 µs. The files are tabcrew's runtime dir and Claude
 * Code's config dir, which Claude Code itself reads and writes synchronously; a stalled network
 * mount under them stalls the agents as well.
 */
export class FileLook {
  private readonly stats = new Map<string, Promise<Stats | undefined>>();

  stat(path: string): Promise<Stats | undefined> {
    let st = this.stats.get(path);
    if (!st) this.stats.set(path, (st = statNow(path)));
    return st;
  }

  /** How many files this look stat'ed. */
  get size(): number {
    return this.stats.size;
  }
}

function statNow(path: string): Promise<Stats | undefined> {
  try {
    return Promise.resolve(statLocal(path));
  } catch (e) {
    return Promise.reject(e as Error);
  }
}

/** The file's stats now, synchronously, as a FileLook takes them (for the same local files); undefined when it does not exist. */
export function statLocal(path: string): Stats | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw e;
  }
}

/** A stat of `path`, through the look when there is one. */
export function lookAt(path: string, look?: FileLook): Promise<Stats | undefined> {
  return look ? look.stat(path) : statOf(path);
}
