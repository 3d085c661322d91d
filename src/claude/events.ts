import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { statLocal, type FileLook } from '../util/file-look.js';
import { toHookRecord, type HookRecord } from './hook-record.js';

/**
 * One parsed spool line as a record. The node hook writes records (hook-record.ts); the hooks
 * that decide nothing write Claude Code's own hook JSON wrapped as
 * `{"launch","ts_s","hook"}` (claude/hook-commands.ts), and the record is derived here, the
 * same way the hook would have. Their time is known to the second (perl's `time`; a clock with
 * milliseconds would cost the hook 5 ms of module loading): `ts` is the latest instant of that
 * second that is not after `notAfterMs` (the spool's last change), so a record read as it
 * arrives is dated as exactly as the file's mtime, and one read later at most 999 ms late.
 */
export function spoolRecord(parsed: unknown, notAfterMs = Date.now()): HookRecord | undefined {
  if (!parsed || typeof parsed !== 'object') return undefined;
  const line = parsed as { hook?: unknown; ts_s?: unknown; launch?: unknown; event?: unknown };
  if (line.hook && typeof line.hook === 'object') {
    const second = typeof line.ts_s === 'number' && Number.isFinite(line.ts_s) ? line.ts_s * 1000 : notAfterMs;
    const ts = Math.max(second, Math.min(second + 999, notAfterMs));
    return toHookRecord(line.hook as Record<string, unknown>, ts, typeof line.launch === 'string' && line.launch ? line.launch : undefined);
  }
  return typeof line.event === 'string' ? (parsed as HookRecord) : undefined;
}

/** Appended bytes read synchronously at most (more, the first read of a long-lived spool, go through the thread pool). */
const SYNC_READ_BYTES = 256 * 1024;

/**
 * Reads an agent's hook spool incrementally: only bytes appended since the last call,
 * keeping a partial trailing line for next time. With `keep: false` it hands each refresh's
 * new records back and keeps none (a reader that only wants a summary of them).
 */
export class SpoolReader {
  private offset = 0;
  private partial = '';
  readonly records: HookRecord[] = [];
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    readonly file: string,
    private readonly opts: { keep?: boolean } = {},
  ) {}

  /**
   * Returns the records that arrived since the previous refresh. Refreshes run one at a time:
   * two at once would both read the bytes after the same offset and keep their records twice.
   * With `look`, the spool's stat is the one that look takes (one per file per status).
   */
  refresh(look?: FileLook): Promise<HookRecord[]> {
    const next = this.running.then(() => this.read(look));
    this.running = next.catch(() => undefined);
    return next;
  }

  private async read(look?: FileLook): Promise<HookRecord[]> {
    // A stat alone says whether anything was appended: most looks find nothing new. Taken
    // synchronously, as a status's look takes it (util/file-look.ts): a fan-out's steps look
    // at 64 spools several times a second, and through the thread pool each look cost a thread
    // wake-up; on a loaded machine those were the largest part of the server's CPU in a fan-out.
    // The look's stat may predate a refresh that ran before this one: the read below fstats again.
    const st = look ? await look.stat(this.file) : statLocal(this.file);
    if (!st || st.size === this.offset) return [];
    // What hooks append is small and read the same way; a large backlog (the first read of a
    // long-lived agent's spool) goes through the thread pool rather than hold the event loop.
    return st.size - this.offset <= SYNC_READ_BYTES ? this.readNow() : this.readLater();
  }

  private readNow(): HookRecord[] {
    let fd: number;
    try {
      fd = openSync(this.file, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    try {
      const { size, mtimeMs } = fstatSync(fd);
      if (!this.fresh(size)) return [];
      const buf = Buffer.alloc(size - this.offset);
      let got = 0;
      for (let n = -1; got < buf.length && n !== 0; got += n) n = readSync(fd, buf, got, buf.length - got, this.offset + got);
      return this.take(buf.subarray(0, got), mtimeMs);
    } finally {
      closeSync(fd);
    }
  }

  private async readLater(): Promise<HookRecord[]> {
    let handle;
    try {
      handle = await open(this.file, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    try {
      const { size, mtimeMs } = await handle.stat();
      if (!this.fresh(size)) return [];
      const buf = Buffer.alloc(size - this.offset);
      const { bytesRead } = await handle.read(buf, 0, buf.length, this.offset);
      return this.take(buf.subarray(0, bytesRead), mtimeMs);
    } finally {
      await handle.close();
    }
  }

  /** Whether the spool holds bytes not read yet; a spool shorter than what was read was replaced (agent relaunched): start over. */
  private fresh(size: number): boolean {
    if (size < this.offset) {
      this.offset = 0;
      this.partial = '';
      this.records.length = 0;
    }
    return size > this.offset;
  }

  /** The records in bytes read from where the last read ended. */
  private take(bytes: Buffer, mtimeMs: number): HookRecord[] {
    this.offset += bytes.length;
    const text = this.partial + bytes.toString('utf8');
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    const fresh: HookRecord[] = [];
    for (const line of lines) {
      if (!line.trim()) continue;
      try {
        const record = spoolRecord(JSON.parse(line), Math.floor(mtimeMs));
        if (record) fresh.push(record);
      } catch {
        // A torn line from a hook killed mid-write carries nothing we can use.
      }
    }
    if (this.opts.keep !== false) this.records.push(...fresh);
    return fresh;
  }

  /** Number of records seen so far; a delivery looks only at records after its mark. */
  get mark(): number {
    return this.records.length;
  }
}
