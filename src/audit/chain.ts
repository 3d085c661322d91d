import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { closeSync, fstatSync, openSync, readdirSync, readFileSync, readSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The chain: how records are serialised, hashed and MAC'd, how the log's files are named
 * and read, and the head file. Shared by the writer and by verify, so both read one format.
 *
 * Every record's `hash` is SHA-256 of its canonical JSON without `hash` and `mac`, and its
 * `prev` is the hash of the record before: the plain chain, checkable by anyone. With the
 * audit key, every record also carries `mac` = HMAC-SHA256(key, "record\n" + hash): the
 * keyed chain, which only a holder of the key can extend.
 */

/** `prev` of the very first record. */
export const GENESIS = '0'.repeat(64);
/** The last written seq and hash (MAC'd with the key when there is one). */
export const HEAD_FILE = 'audit-head.json';
export const LOCK_FILE = 'audit.lock';
const FILE_RE = /^audit-\d{4}-\d{2}-\d{2}\.jsonl$/;
const HEX64 = /^[0-9a-f]{64}$/;
/** Fields the log sets; an event may not carry them. */
export const RESERVED = ['seq', 'ts', 'pid', 'prev', 'hash', 'mac', 'kid'] as const;

/** A point in the chain: the record with this seq has this hash. seq 0 is the empty log. */
export interface ChainHead {
  seq: number;
  hash: string;
}

export const EMPTY_HEAD: ChainHead = { seq: 0, hash: GENESIS };

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Canonical JSON: object keys sorted, no whitespace, undefined dropped, non-finite numbers
 * as null. A record's bytes on disk are exactly canonical(record), which is what makes
 * "any byte edited" detectable even when the edit keeps the JSON valid.
 */
export function canonical(value: unknown): string {
  return canon(value) ?? 'null';
}

function canon(v: unknown): string | undefined {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number':
      return Number.isFinite(v) ? JSON.stringify(v) : 'null';
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      return JSON.stringify(v.toString());
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
  }
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? 'null' : JSON.stringify(v.toISOString());
  if (Array.isArray(v)) return `[${v.map((x) => canon(x) ?? 'null').join(',')}]`;
  const obj = v as Record<string, unknown>;
  const parts: string[] = [];
  for (const k of Object.keys(obj).sort()) {
    const c = canon(obj[k]);
    if (c !== undefined) parts.push(`${JSON.stringify(k)}:${c}`);
  }
  return `{${parts.join(',')}}`;
}

// ---- keys ---------------------------------------------------------------------------------

/** The audit key (32 random bytes kept in the encrypted state), ready to MAC with. */
export class AuditKey {
  private readonly bytes: Buffer;
  /** Names the key in records and messages without revealing it. */
  readonly id: string;

  constructor(key: Uint8Array) {
    if (key.length < 16) throw new TypeError(`the audit key must be at least 16 bytes (got ${key.length})`);
    this.bytes = Buffer.from(key);
    this.id = this.hmac('key id').slice(0, 16);
  }

  /** The `mac` of the record whose hash this is. */
  recordMac(hash: string): string {
    return this.hmac(`record\n${hash}`);
  }

  headMac(head: { seq: number; hash: string; file: string }): string {
    return this.hmac(`head\n${canonical({ seq: head.seq, hash: head.hash, file: head.file })}`);
  }

  private hmac(text: string): string {
    return createHmac('sha256', this.bytes).update(text).digest('hex');
  }
}

export function macEqual(a: unknown, b: string): boolean {
  if (typeof a !== 'string' || a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/** The record's hash as it should be: of everything but `hash` and `mac`. */
export function recordHash(rec: Record<string, unknown>): string {
  const { hash: _hash, mac: _mac, ...body } = rec;
  return sha256(canonical(body));
}

// ---- files and lines ----------------------------------------------------------------------

export function auditFileFor(ts: Date | string): string {
  const iso = typeof ts === 'string' ? ts : ts.toISOString();
  return `audit-${iso.slice(0, 10)}.jsonl`;
}

/** The day files, oldest first (their names sort by date). */
export function listAuditFiles(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => FILE_RE.test(f))
      .sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

export function splitLines(buf: Buffer): { lines: Buffer[]; terminated: boolean } {
  const terminated = buf.length === 0 || buf[buf.length - 1] === 0x0a;
  const lines: Buffer[] = [];
  let start = 0;
  for (;;) {
    const nl = buf.indexOf(0x0a, start);
    if (nl === -1) break;
    lines.push(buf.subarray(start, nl));
    start = nl + 1;
  }
  if (start < buf.length) lines.push(buf.subarray(start));
  return { lines, terminated };
}

export function joinLines(lines: Buffer[]): Buffer {
  return Buffer.concat(lines.flatMap((l, k) => (k === 0 ? [l] : [Buffer.from('\n'), l])));
}

/** A line that parses as a record: an object with an integer seq and hex prev/hash. */
export function recordShaped(line: Buffer | string): Record<string, unknown> | undefined {
  let v: unknown;
  try {
    v = JSON.parse(typeof line === 'string' ? line : line.toString('utf8'));
  } catch {
    return undefined;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const r = v as Record<string, unknown>;
  if (!Number.isSafeInteger(r.seq) || (r.seq as number) < 1) return undefined;
  if (typeof r.prev !== 'string' || !HEX64.test(r.prev) || typeof r.hash !== 'string' || !HEX64.test(r.hash)) return undefined;
  return r;
}

/** The last line of a file when it is a complete record, reading only the end of the file. */
function quickLastRecord(path: string): Record<string, unknown> | undefined {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return undefined;
    const len = Math.min(size, 64 * 1024);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    if (buf[len - 1] !== 0x0a) return undefined;
    const prevNl = buf.lastIndexOf(0x0a, len - 2);
    if (prevNl === -1 && len < size) return undefined;
    return recordShaped(buf.subarray(prevNl + 1, len - 1));
  } finally {
    closeSync(fd);
  }
}

/** Lines after the last record of the newest file: a torn write (or worse) to mark. */
export interface Junk {
  file: string;
  line: number;
  lines: number;
  bytes: number;
  sha256: string;
}

export interface TailState {
  head: ChainHead;
  /** The last complete record, when there is one. */
  last?: Record<string, unknown>;
  junk?: Junk;
  /** The newest file does not end in "\n" (torn, or a whole record missing only its newline). */
  unterminated: boolean;
}

/** Where the log ends: its last complete record, and what lies after it in the newest file. */
export function readTailState(dir: string, files: string[]): TailState {
  let unterminated = false;
  let junk: Junk | undefined;
  for (let i = files.length - 1; i >= 0; i--) {
    const name = files[i]!;
    const path = join(dir, name);
    const newest = i === files.length - 1;
    if (newest) {
      const quick = quickLastRecord(path);
      if (quick) return { head: { seq: quick.seq as number, hash: quick.hash as string }, last: quick, unterminated: false };
    }
    const { lines, terminated } = splitLines(readFileSync(path));
    if (newest) unterminated = !terminated;
    let j = lines.length - 1;
    let rec: Record<string, unknown> | undefined;
    for (; j >= 0; j--) if ((rec = recordShaped(lines[j]!))) break;
    if (newest && j < lines.length - 1) {
      const joined = joinLines(lines.slice(j + 1));
      junk = { file: name, line: j + 2, lines: lines.length - j - 1, bytes: joined.length, sha256: sha256(joined) };
    }
    if (rec) return { head: { seq: rec.seq as number, hash: rec.hash as string }, last: rec, junk, unterminated };
  }
  return { head: EMPTY_HEAD, junk, unterminated };
}

/**
 * The hash of the record with this seq, searching from the newest file back (the point
 * looked for is usually near the end). undefined when the log holds no such record.
 */
export function findRecordHash(dir: string, files: string[], seq: number): string | undefined {
  if (seq === 0) return GENESIS;
  for (let i = files.length - 1; i >= 0; i--) {
    const { lines } = splitLines(readFileSync(join(dir, files[i]!)));
    let first: number | undefined;
    for (let j = lines.length - 1; j >= 0; j--) {
      const rec = recordShaped(lines[j]!);
      if (!rec) continue;
      if (rec.seq === seq) return rec.hash as string;
      first = rec.seq as number;
    }
    if (first !== undefined && first < seq) return undefined;
  }
  return undefined;
}

// ---- the head file ------------------------------------------------------------------------

export interface HeadFile extends ChainHead {
  file: string;
  /** HMAC of seq, hash and file with the audit key; absent when written without a key (or by the previous version). */
  mac?: string;
  /** Which key made `mac`. */
  kid?: string;
}

export type HeadRead = { kind: 'missing' } | { kind: 'unreadable'; why: string } | { kind: 'ok'; head: HeadFile };

export function readHeadFile(dir: string): HeadRead {
  let text: string;
  try {
    text = readFileSync(join(dir, HEAD_FILE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    return { kind: 'unreadable', why: (e as Error).message };
  }
  try {
    const h = JSON.parse(text) as HeadFile;
    if (h && Number.isSafeInteger(h.seq) && h.seq >= 0 && typeof h.hash === 'string' && HEX64.test(h.hash) && typeof h.file === 'string') {
      return {
        kind: 'ok',
        head: {
          seq: h.seq,
          hash: h.hash,
          file: h.file,
          mac: typeof h.mac === 'string' ? h.mac : undefined,
          kid: typeof h.kid === 'string' ? h.kid : undefined,
        },
      };
    }
    return { kind: 'unreadable', why: 'not a head record (seq, hash, file)' };
  } catch (e) {
    return { kind: 'unreadable', why: `not valid JSON (${(e as Error).message})` };
  }
}

/**
 * The key id of another audit key this log is kept with (its head file's, or its last
 * record's), or undefined when it is this key's log, unkeyed, or empty. Each state has its
 * own audit key: another key id means another state's log.
 */
export function foreignKeyId(head: HeadRead, last: Record<string, unknown> | undefined, key: AuditKey): string | undefined {
  if (head.kind === 'ok' && head.head.kid !== undefined && head.head.kid !== key.id) return head.head.kid;
  if (typeof last?.kid === 'string' && last.kid !== key.id) return last.kid;
  return undefined;
}

/** Why a head file read with this key cannot be trusted, or undefined when it can. */
export function headMacProblem(head: HeadFile, key: AuditKey | undefined, logKeyed: boolean): string | undefined {
  if (!key) return undefined;
  if (head.mac === undefined) return logKeyed ? `${HEAD_FILE} carries no MAC although the log is keyed: it was rewritten without the audit key` : undefined;
  if (!macEqual(head.mac, key.headMac(head))) {
    return head.kid && head.kid !== key.id
      ? `${HEAD_FILE} was MAC'd with another audit key (key id ${head.kid}; this state's is ${key.id}): another state dir wrote to this log dir (another --state-dir with the same --log-dir?); give each state its own --log-dir`
      : `${HEAD_FILE} does not match its MAC: it was edited without the audit key`;
  }
  return undefined;
}

/** Replaces the head file atomically (temp file + rename). */
export function writeHeadFile(dir: string, head: ChainHead & { file: string }, key: AuditKey | undefined): void {
  const body: HeadFile = { seq: head.seq, hash: head.hash, file: head.file };
  if (key) {
    body.mac = key.headMac(body);
    body.kid = key.id;
  }
  const tmp = join(dir, `${HEAD_FILE}.${process.pid}.tmp`);
  writeFileSync(tmp, `${JSON.stringify(body)}\n`, { mode: 0o600 });
  renameSync(tmp, join(dir, HEAD_FILE));
}
