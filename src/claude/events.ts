import { open } from 'node:fs/promises';
import type { HookRecord } from './hook-record.js';

/**
 * Reads an agent's hook spool incrementally: only bytes appended since the last call,
 * keeping a partial trailing line for next time.
 */
export class SpoolReader {
  private offset = 0;
  private partial = '';
  readonly records: HookRecord[] = [];

  constructor(readonly file: string) {}

  /** Returns the records that arrived since the previous refresh. */
  async refresh(): Promise<HookRecord[]> {
    let handle;
    try {
      handle = await open(this.file, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    try {
      const { size } = await handle.stat();
      if (size < this.offset) {
        // The spool was replaced (agent relaunched): start over.
        this.offset = 0;
        this.partial = '';
        this.records.length = 0;
      }
      if (size === this.offset) return [];
      const buf = Buffer.alloc(size - this.offset);
      await handle.read(buf, 0, buf.length, this.offset);
      this.offset = size;
      const text = this.partial + buf.toString('utf8');
      const lines = text.split('\n');
      this.partial = lines.pop() ?? '';
      const fresh: HookRecord[] = [];
      for (const line of lines) {
        if (!line.trim()) continue;
        try {
          fresh.push(JSON.parse(line) as HookRecord);
        } catch {
          // A torn line from a hook killed mid-write carries nothing we can use.
        }
      }
      this.records.push(...fresh);
      return fresh;
    } finally {
      await handle.close();
    }
  }

  /** Number of records seen so far; a delivery looks only at records after its mark. */
  get mark(): number {
    return this.records.length;
  }
}
