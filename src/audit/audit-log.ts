import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import winston from 'winston';
import type TransportStream from 'winston-transport';
import { redactValue } from './redact.js';

/**
 * The audit log: JSON lines in `<logDir>/audit-YYYY-MM-DD.jsonl` (UTC day), one record per
 * tool call, status change, recovery action and refusal. Records are hash-chained across
 * files, so an edited, deleted, reordered or truncated record is found by `verify`.
 * See docs/audit.md for the format.
 */

/** `prev` of the very first record. */
export const GENESIS = '0'.repeat(64);
/** The last written seq and hash, so truncation at a record boundary is found too. */
export const HEAD_FILE = 'audit-head.json';
const LOCK_FILE = 'audit.lock';
const FILE_RE = /^audit-\d{4}-\d{2}-\d{2}\.jsonl$/;
const HEX64 = /^[0-9a-f]{64}$/;
const RESERVED = ['seq', 'ts', 'pid', 'prev', 'hash'] as const;
/** Records per lock/write/fsync round; later appends wait for the next round. */
const MAX_BATCH = 256;

export type AuditOutcome = 'ok' | 'refused' | 'failed';

/** What a caller appends; the log adds seq, ts, pid, prev and hash. */
export interface AuditEvent {
  type: string;
  agent?: string;
  session?: string;
  [field: string]: unknown;
}

export interface AuditRecord extends AuditEvent {
  seq: number;
  /** ISO-8601 UTC. */
  ts: string;
  pid: number;
  prev: string;
  hash: string;
}

export interface ToolCallEvent extends AuditEvent {
  type: 'tool_call';
  tool: string;
  caller: string;
  args: Record<string, unknown>;
  outcome: AuditOutcome;
  ms: number;
  reason?: string;
}

export interface StatusChangeEvent extends AuditEvent {
  type: 'status_change';
  agent: string;
  from?: string;
  to: string;
  source: string;
}

export interface RecoveryEvent extends AuditEvent {
  type: 'recovery';
  action: string;
  outcome: AuditOutcome | 'skipped';
}

export interface RefusalEvent extends AuditEvent {
  type: 'refusal';
  what: string;
  reason: string;
}

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

export function auditFileFor(ts: Date | string): string {
  const iso = typeof ts === 'string' ? ts : ts.toISOString();
  return `audit-${iso.slice(0, 10)}.jsonl`;
}

function listAuditFiles(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => FILE_RE.test(f)).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

// ---------------------------------------------------------------------------------------
// Tool-call records: message bodies are never stored, only their length and a hash prefix.

/** Argument names whose values are message bodies. */
export const MESSAGE_BODY_KEYS: readonly string[] = ['message', 'initial_task', 'reply', 'text', 'body', 'prompt', 'content'];
/** Longer string arguments are cut: the audit log records what was done, not payloads. */
const MAX_ARG_CHARS = 2000;

export function summarizeBody(body: string): { length: number; sha256_prefix: string } {
  return { length: body.length, sha256_prefix: sha256(body).slice(0, 16) };
}

/** Tool arguments as the audit log stores them: bodies summarised, secrets redacted, long strings cut. */
export function summarizeArgs(args: Record<string, unknown>): Record<string, unknown> {
  return summarize(redactValue(bodiesOut(args, 0)), 0) as Record<string, unknown>;
}

function bodiesOut(v: unknown, depth: number): unknown {
  if (depth > 16 || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => bodiesOut(x, depth + 1));
  return Object.fromEntries(
    Object.entries(v).map(([k, x]) => [k, MESSAGE_BODY_KEYS.includes(k) && typeof x === 'string' ? summarizeBody(x) : bodiesOut(x, depth + 1)]),
  );
}

function summarize(v: unknown, depth: number): unknown {
  if (typeof v === 'string') return v.length > MAX_ARG_CHARS ? `${v.slice(0, MAX_ARG_CHARS)}…[+${v.length - MAX_ARG_CHARS} chars]` : v;
  if (depth > 16 || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => summarize(x, depth + 1));
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, summarize(x, depth + 1)]));
}

export interface ToolCallInput {
  tool: string;
  /** The MCP client's name (initialize → clientInfo.name). */
  caller?: string;
  args?: Record<string, unknown>;
  outcome: AuditOutcome;
  ms: number;
  /** Why it was refused, or the error message when it failed. */
  reason?: string;
  /** Default: args.agent / args.session when they are strings. */
  agent?: string;
  session?: string;
}

/** The record for one tool call, ready for `append`. */
export function toolCallEvent(input: ToolCallInput): ToolCallEvent {
  const raw = input.args ?? {};
  const event: ToolCallEvent = {
    type: 'tool_call',
    tool: input.tool,
    caller: input.caller ?? 'unknown',
    args: summarizeArgs(raw),
    outcome: input.outcome,
    ms: input.ms,
  };
  const agent = input.agent ?? (typeof raw.agent === 'string' ? raw.agent : undefined);
  const session = input.session ?? (typeof raw.session === 'string' ? raw.session : undefined);
  if (agent !== undefined) event.agent = agent;
  if (session !== undefined) event.session = session;
  if (input.reason !== undefined) event.reason = input.reason;
  return event;
}

// ---------------------------------------------------------------------------------------
// Reading lines.

function splitLines(buf: Buffer): { lines: Buffer[]; terminated: boolean } {
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

/** A line that parses as a record: an object with an integer seq and hex prev/hash. */
function recordShaped(line: Buffer | string): Record<string, unknown> | undefined {
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

interface Head {
  seq: number;
  hash: string;
}

/** Lines after the last record of the newest file: a torn write (or worse) to mark. */
interface Junk {
  file: string;
  line: number;
  lines: number;
  bytes: number;
  sha256: string;
}

interface TailState {
  head: Head;
  junk?: Junk;
  /** The newest file does not end in "\n" (torn, or a whole record missing only its newline). */
  unterminated: boolean;
}

function readTailState(dir: string, files: string[]): TailState {
  let unterminated = false;
  let junk: Junk | undefined;
  for (let i = files.length - 1; i >= 0; i--) {
    const name = files[i]!;
    const path = join(dir, name);
    const newest = i === files.length - 1;
    if (newest) {
      const quick = quickLastRecord(path);
      if (quick) return { head: { seq: quick.seq as number, hash: quick.hash as string }, unterminated: false };
    }
    const { lines, terminated } = splitLines(readFileSync(path));
    if (newest) unterminated = !terminated;
    let j = lines.length - 1;
    let rec: Record<string, unknown> | undefined;
    for (; j >= 0; j--) if ((rec = recordShaped(lines[j]!))) break;
    if (newest && j < lines.length - 1) {
      const rest = lines.slice(j + 1);
      const joined = Buffer.concat(rest.flatMap((l, k) => (k === 0 ? [l] : [Buffer.from('\n'), l])));
      junk = { file: name, line: j + 2, lines: rest.length, bytes: joined.length, sha256: sha256(joined) };
    }
    if (rec) return { head: { seq: rec.seq as number, hash: rec.hash as string }, junk, unterminated };
  }
  return { head: { seq: 0, hash: GENESIS }, junk, unterminated };
}

// ---------------------------------------------------------------------------------------
// Writing: a winston transport that chains, writes and fsyncs under a cross-process lock.

const EVENT = Symbol('tabcrew.audit.event');
const DONE = Symbol('tabcrew.audit.done');

interface Pending {
  event: AuditEvent;
  resolve: (r: AuditRecord) => void;
  reject: (e: Error) => void;
}

interface AuditInfo {
  level: string;
  message: string;
  [EVENT]: AuditEvent;
  [DONE]: { resolve: (r: AuditRecord) => void; reject: (e: Error) => void };
}

export interface AuditLogOptions {
  /** The clock for `ts` and for which day's file a record goes to (tests inject one). */
  now?: () => Date;
  /** A lock older than this is taken to be left by a dead process. Default 10 s. */
  lockStaleMs?: number;
}

// winston exports the transport base class as `winston.Transport` at run time, but its typings
// only declare it in winston-transport (imported for the type alone, so no extra dependency).
const TransportBase = (winston as unknown as { Transport: typeof TransportStream }).Transport;

/**
 * Writes each batch of records as: lock → read the chain head from the newest file →
 * append → fsync → update the head anchor → unlock, then completes the records' promises.
 * Batching (group commit) keeps one fsync per round however many tool calls are waiting;
 * the lock keeps the chain linear when several tabcrew processes share a log dir.
 */
export class AuditTransport extends TransportBase {
  private readonly pending: Pending[] = [];
  private running: Promise<void> | undefined;
  private readonly now: () => Date;
  private readonly staleMs: number;

  constructor(
    readonly dir: string,
    opts: AuditLogOptions = {},
  ) {
    super({ level: 'audit' });
    this.now = opts.now ?? (() => new Date());
    this.staleMs = opts.lockStaleMs ?? 10_000;
  }

  override log(info: AuditInfo, next: () => void): void {
    const done = info[DONE];
    this.pending.push({ event: info[EVENT], resolve: done.resolve, reject: done.reject });
    this.kick();
    next();
  }

  /** Writes whatever the last crash left (a torn line) as a torn_tail_repaired record now. */
  repair(): Promise<AuditRecord[]> {
    return this.commit([]);
  }

  private kick(): void {
    if (this.running) return;
    this.running = (async () => {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, MAX_BATCH);
        try {
          const records = await this.commit(batch.map((p) => p.event));
          batch.forEach((p, i) => p.resolve(records[i]!));
        } catch (e) {
          const err = e instanceof Error ? e : new Error(String(e));
          for (const p of batch) p.reject(err);
        }
      }
    })().finally(() => {
      this.running = undefined;
      if (this.pending.length > 0) this.kick();
    });
  }

  private async commit(events: AuditEvent[]): Promise<AuditRecord[]> {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const release = await lockfile.lock(this.dir, {
      lockfilePath: join(this.dir, LOCK_FILE),
      realpath: false,
      stale: this.staleMs,
      retries: { retries: 800, factor: 1.3, minTimeout: 2, maxTimeout: 25, randomize: true },
      // The default throws from a timer (killing the process); the records are fsynced
      // before the lock is released, so a compromised lock cannot lose them.
      onCompromised: () => undefined,
    });
    try {
      return this.commitLocked(events);
    } finally {
      await release().catch(() => undefined);
    }
  }

  private commitLocked(events: AuditEvent[]): AuditRecord[] {
    const files = listAuditFiles(this.dir);
    let newest = files.at(-1);
    const state = readTailState(this.dir, files);
    const chunks: { file: string; data: string }[] = [];
    const push = (file: string, data: string): void => {
      const last = chunks.at(-1);
      if (last?.file === file) last.data += data;
      else chunks.push({ file, data });
    };
    // Finish the torn line so the next record starts on a line of its own; the torn bytes
    // stay as evidence, described by the torn_tail_repaired record below.
    if (newest && state.unterminated) push(newest, '\n');

    let { seq, hash: prev } = state.head;
    const records: AuditRecord[] = [];
    const emit = (event: AuditEvent): AuditRecord => {
      const ts = this.now().toISOString();
      let file = auditFileFor(ts);
      // Never write behind the newest file (clock skew between processes): verify reads
      // files in name order, and the chain must read the same way.
      if (newest && newest > file) file = newest;
      newest = file;
      const body = { ...event, seq: ++seq, ts, pid: process.pid, prev };
      const hash = sha256(canonical(body));
      const record = { ...body, hash } as AuditRecord;
      push(file, `${canonical(record)}\n`);
      prev = hash;
      return record;
    };
    if (state.junk) {
      emit({
        type: 'torn_tail_repaired',
        file: state.junk.file,
        line: state.junk.line,
        lines: state.junk.lines,
        bytes: state.junk.bytes,
        sha256: state.junk.sha256,
        reason: 'lines after the last complete record (an interrupted write); none of them was acknowledged',
      });
    }
    for (const event of events) records.push(emit(event));

    for (const { file, data } of chunks) this.writeDurably(file, data);
    if (seq !== state.head.seq && newest) {
      const tmp = join(this.dir, `${HEAD_FILE}.${process.pid}.tmp`);
      writeFileSync(tmp, `${JSON.stringify({ seq, hash: prev, file: newest })}\n`, { mode: 0o600 });
      renameSync(tmp, join(this.dir, HEAD_FILE));
    }
    return records;
  }

  private writeDurably(file: string, data: string): void {
    const path = join(this.dir, file);
    const created = !existsSync(path);
    const fd = openSync(path, 'a', 0o600);
    try {
      const buf = Buffer.from(data, 'utf8');
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (created) fsyncDir(this.dir);
  }
}

function fsyncDir(dir: string): void {
  // A new file's directory entry is only durable once the directory is synced. Not every
  // platform allows fsync on a directory; the file's own data is already synced.
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* best effort */
  }
}

/**
 * The audit log of one process. `append` resolves only once the record is written and
 * fsynced, so a caller that awaits it before answering never reports an action the log
 * does not hold.
 */
export class AuditLog {
  private readonly transport: AuditTransport;
  private readonly logger: winston.Logger;
  private readonly inflight = new Set<Promise<unknown>>();
  private closed = false;

  constructor(
    readonly dir: string,
    opts: AuditLogOptions = {},
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.transport = new AuditTransport(dir, opts);
    this.logger = winston.createLogger({
      levels: { audit: 0 },
      level: 'audit',
      // Records are serialised canonically by the transport; winston's json format would be wasted work.
      format: winston.format((info) => info)(),
      transports: [this.transport],
      exitOnError: false,
    });
  }

  /**
   * Marks a torn last line left by a crash with a torn_tail_repaired record. Optional
   * (the first append does the same) but makes the repair visible right at start-up.
   */
  async init(): Promise<void> {
    await this.track(this.transport.repair());
  }

  /** Appends one record; resolves with it (seq, ts, prev, hash filled in) once it is fsynced. */
  append(event: AuditEvent): Promise<AuditRecord> {
    if (this.closed) return Promise.reject(new Error('audit log is closed'));
    if (!event || typeof event.type !== 'string' || event.type === '') {
      return Promise.reject(new TypeError('an audit event needs a non-empty string "type"'));
    }
    for (const k of RESERVED) {
      if (k in event) return Promise.reject(new TypeError(`"${k}" is set by the audit log, not by the caller`));
    }
    const clean = redactValue(event) as AuditEvent;
    const done = new Promise<AuditRecord>((resolve, reject) => {
      const info: AuditInfo = { level: 'audit', message: clean.type, [EVENT]: clean, [DONE]: { resolve, reject } };
      this.logger.log(info as unknown as winston.LogEntry);
    });
    return this.track(done);
  }

  /** Waits for records already appended, then detaches the transport. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.inflight]);
    this.logger.close();
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inflight.add(p);
    const forget = (): void => void this.inflight.delete(p);
    p.then(forget, forget);
    return p;
  }
}

// ---------------------------------------------------------------------------------------
// Verifying and reading.

export interface BadRecord {
  file: string;
  /** 1-based. */
  line: number;
  reason: string;
}

export interface VerifyResult {
  ok: boolean;
  /** Records that verified (up to the first bad one). */
  records: number;
  files: number;
  firstBad?: BadRecord;
  /** Torn writes that a later torn_tail_repaired record accounts for. */
  repaired: { file: string; line: number; lines: number }[];
  /** Whether audit-head.json was there to check the end of the chain against. */
  anchored: boolean;
  /** The last verified record: keep its hash elsewhere to detect a rewrite of the whole log. */
  head?: { seq: number; hash: string; file: string; line: number };
}

interface Snapshot {
  files: { name: string; size: number }[];
  anchor?: { seq: number; hash: string; file: string };
}

/** File sizes and the anchor read together under the lock: appends after that are not seen. */
async function snapshot(dir: string): Promise<Snapshot> {
  const take = (): Snapshot => {
    const files = listAuditFiles(dir).map((name) => ({ name, size: statSync(join(dir, name)).size }));
    let anchor: Snapshot['anchor'];
    try {
      const a = JSON.parse(readFileSync(join(dir, HEAD_FILE), 'utf8')) as Snapshot['anchor'];
      if (a && Number.isSafeInteger(a.seq) && typeof a.hash === 'string' && typeof a.file === 'string') anchor = a;
    } catch {
      /* no anchor */
    }
    return { files, anchor };
  };
  if (!existsSync(dir)) return { files: [] };
  let release: (() => Promise<void>) | undefined;
  try {
    release = await lockfile.lock(dir, {
      lockfilePath: join(dir, LOCK_FILE),
      realpath: false,
      retries: { retries: 200, factor: 1.3, minTimeout: 5, maxTimeout: 50 },
      onCompromised: () => undefined,
    });
  } catch {
    // A read-only copy of the logs (or a stuck writer) must still be verifiable.
  }
  try {
    return take();
  } finally {
    await release?.().catch(() => undefined);
  }
}

function readPrefix(path: string, size: number): Buffer {
  const buf = readFileSync(path);
  return buf.length > size ? buf.subarray(0, size) : buf;
}

/**
 * Checks the whole chain: every line is a canonical record whose hash matches its content,
 * whose prev is the previous record's hash (across files) and whose seq is one more; the
 * chain starts at seq 1 and reaches at least the seq in audit-head.json. A torn line is
 * accepted only when the record after it is the torn_tail_repaired record describing it.
 */
export async function verify(logDir: string): Promise<VerifyResult> {
  const snap = await snapshot(logDir);
  const result: VerifyResult = { ok: true, records: 0, files: snap.files.length, repaired: [], anchored: !!snap.anchor };
  const fail = (file: string, line: number, reason: string): VerifyResult => ({ ...result, ok: false, firstBad: { file, line, reason } });

  let prevHash = GENESIS;
  let expectSeq = 1;
  let prevAt: { file: string; line: number } | undefined;
  let pending: { file: string; line: number; lines: Buffer[]; reason: string } | undefined;
  let anchorSeen: { hash: string; file: string; line: number } | undefined;
  const lineCounts = new Map<string, number>();

  for (const { name, size } of snap.files) {
    const { lines, terminated } = splitLines(readPrefix(join(logDir, name), size));
    lineCounts.set(name, lines.length);
    for (let i = 0; i < lines.length; i++) {
      const lineNo = i + 1;
      const buf = lines[i]!;
      const text = buf.toString('utf8');
      const rec = recordShaped(text);
      if (!rec) {
        const torn = i === lines.length - 1 && !terminated;
        const reason = torn
          ? 'incomplete last line: an interrupted write or a truncated file (tabcrew marks an interrupted write with a torn_tail_repaired record when it next writes)'
          : isJson(text)
            ? 'not an audit record (no seq/prev/hash)'
            : 'not valid JSON: the line was edited or two lines were joined';
        if (pending && pending.file === name && pending.line + pending.lines.length === lineNo) pending.lines.push(buf);
        else if (pending) return fail(pending.file, pending.line, pending.reason);
        else pending = { file: name, line: lineNo, lines: [buf], reason };
        continue;
      }
      if (canonical(rec) !== text) return fail(name, lineNo, 'not in canonical form: the line was edited');
      const { hash, ...body } = rec;
      if (sha256(canonical(body)) !== hash) return fail(name, lineNo, 'content does not match its hash: the record was edited');
      if (pending) {
        const joined = Buffer.concat(pending.lines.flatMap((l, k) => (k === 0 ? [l] : [Buffer.from('\n'), l])));
        const accounts =
          rec.type === 'torn_tail_repaired' &&
          rec.file === pending.file &&
          rec.line === pending.line &&
          rec.lines === pending.lines.length &&
          rec.sha256 === sha256(joined);
        if (!accounts) return fail(pending.file, pending.line, pending.reason);
        result.repaired.push({ file: pending.file, line: pending.line, lines: pending.lines.length });
        pending = undefined;
      }
      if (rec.prev !== prevHash) {
        const reason = prevAt
          ? `prev does not match the hash of the record before it (${prevAt.file}:${prevAt.line}): a record was deleted, inserted or reordered here`
          : `the chain does not start here (seq ${String(rec.seq)}, prev is not the genesis hash): earlier records or files are missing`;
        return fail(name, lineNo, reason);
      }
      if (rec.seq !== expectSeq) return fail(name, lineNo, `seq is ${String(rec.seq)}, expected ${expectSeq}`);
      if (snap.anchor && rec.seq === snap.anchor.seq) anchorSeen = { hash: hash as string, file: name, line: lineNo };
      prevHash = hash as string;
      expectSeq++;
      prevAt = { file: name, line: lineNo };
      result.records++;
      result.head = { seq: rec.seq as number, hash: prevHash, file: name, line: lineNo };
    }
  }
  if (pending) return fail(pending.file, pending.line, pending.reason);

  const anchor = snap.anchor;
  if (anchor) {
    if (anchorSeen && anchorSeen.hash !== anchor.hash) {
      return fail(anchorSeen.file, anchorSeen.line, `differs from ${HEAD_FILE} (seq ${anchor.seq}): the chain was rewritten up to here`);
    }
    if (!anchorSeen) {
      const last = expectSeq - 1;
      const reason = `records missing: the log ends at seq ${last} but ${HEAD_FILE} says seq ${anchor.seq} was written (records deleted from the end, or the file truncated)`;
      if (!lineCounts.has(anchor.file)) return fail(anchor.file, 1, `file missing; ${reason}`);
      const file = anchor.file === result.head?.file || !result.head ? anchor.file : result.head.file;
      return fail(file, (lineCounts.get(file) ?? 0) + 1, reason);
    }
  }
  return result;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

export interface TailOptions {
  agent?: string;
  /** A session id or name, as the records carry it. */
  session?: string;
  type?: string;
  /** Most recent records to return; default 50. */
  limit?: number;
}

/** The most recent matching records, oldest first. Lines that are not records are skipped. */
export async function tail(logDir: string, opts: TailOptions = {}): Promise<AuditRecord[]> {
  const limit = opts.limit ?? 50;
  const out: AuditRecord[] = [];
  const files = listAuditFiles(logDir);
  for (let f = files.length - 1; f >= 0 && out.length < limit; f--) {
    const { lines } = splitLines(readFileSync(join(logDir, files[f]!)));
    for (let i = lines.length - 1; i >= 0 && out.length < limit; i--) {
      const rec = recordShaped(lines[i]!) as AuditRecord | undefined;
      if (!rec) continue;
      if (opts.agent !== undefined && rec.agent !== opts.agent) continue;
      if (opts.session !== undefined && rec.session !== opts.session && rec.session_name !== opts.session) continue;
      if (opts.type !== undefined && rec.type !== opts.type) continue;
      out.push(rec);
    }
  }
  return out.reverse();
}
