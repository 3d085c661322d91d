import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import {
  AuditKey,
  auditFileFor,
  canonical,
  type ChainHead,
  findRecordHash,
  foreignKeyId,
  HEAD_FILE,
  headMacProblem,
  listAuditFiles,
  LOCK_FILE,
  macEqual,
  readHeadFile,
  readTailState,
  RESERVED,
  sha256,
  type TailState,
  writeHeadFile,
} from './chain.js';
import type { AuditEvent, AuditRecord, GapEvent } from './events.js';
import { silentLogger, type Logger } from './logger.js';
import { redactValue } from './redact.js';

/** Records per lock/write/fsync round; later appends wait for the next round. */
const MAX_BATCH = 256;

export interface AuditLogOptions {
  /** The clock for `ts` and for which day's file a record goes to (tests inject one). */
  now?: () => Date;
  /** A lock older than this is taken to be left by a dead process. Default 10 s. */
  lockStaleMs?: number;
  /** The audit key (kept in the encrypted state): records and the head file are MAC'd with it. */
  key?: Uint8Array;
  /**
   * A point the log is known to contain (the state's copy of an earlier head). Checked at the
   * first write; a log that does not hold this seq with this hash gets a `gap` record.
   */
  expected?: ChainHead;
  /** The operational log: a gap is reported there as an error. */
  log?: Logger;
}

/** The log dir holds the audit log of another state (another audit key): this state may not write into it. */
export class AuditLogOfAnotherStateError extends Error {
  override name = 'AuditLogOfAnotherStateError';
  constructor(
    readonly dir: string,
    readonly otherKeyId: string,
    readonly keyId: string,
  ) {
    super(
      `The audit log in ${dir} is another state's: it is kept with audit key id ${otherKeyId}, and this state's is ${keyId}. ` +
        "Two states never share one audit chain (each would make the other's records look forged). " +
        'Give this state a log dir of its own with --log-dir (without one, a --state-dir keeps its logs in <state dir>-logs); ' +
        `or, if the other state is gone for good, move its audit-*.jsonl and ${HEAD_FILE} out of ${dir}.`,
    );
  }
}

interface Pending {
  event: AuditEvent;
  resolve: (r: AuditRecord) => void;
  reject: (e: Error) => void;
}

/**
 * The audit log of one process. `append` resolves only once the record is written and
 * fsynced, so a caller that awaits it before answering never reports an action the log
 * does not hold.
 *
 * Each batch of records is written as: lock → read where the log ends → compare that with
 * the head file, the expected anchor and what this process last wrote (a mismatch becomes a
 * `gap` record, never a silent restart) → append → fsync → replace the head file → unlock.
 * Batching (group commit) keeps one fsync per round however many tool calls are waiting;
 * the lock keeps the chain linear when several tabcrew processes share a log dir.
 */
export class AuditLog {
  private readonly pending: Pending[] = [];
  private running: Promise<void> | undefined;
  private readonly inflight = new Set<Promise<unknown>>();
  private closed = false;
  private readonly now: () => Date;
  private readonly staleMs: number;
  private readonly key: AuditKey | undefined;
  private readonly log: Logger;
  private expected: ChainHead | undefined;
  /** The end of the log as this process last left it. */
  private known: ChainHead | undefined;

  constructor(
    readonly dir: string,
    opts: AuditLogOptions = {},
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.now = opts.now ?? (() => new Date());
    this.staleMs = opts.lockStaleMs ?? 10_000;
    this.key = opts.key ? new AuditKey(opts.key) : undefined;
    this.expected = opts.expected;
    this.log = opts.log ?? silentLogger;
  }

  /**
   * Checks the log against its head (and the expected anchor) and marks a torn last line
   * left by a crash, writing `gap` / `torn_tail_repaired` records as needed. Optional (the
   * first append does the same) but makes both visible right at start-up.
   */
  async init(): Promise<void> {
    await this.track(this.commit(() => []));
  }

  /** The last record this process wrote or found at the end of the log; undefined before init/append. */
  head(): ChainHead | undefined {
    return this.known && { ...this.known };
  }

  /** Appends one record; resolves with it (seq, ts, prev, hash, mac filled in) once it is fsynced. */
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
      this.pending.push({ event: clean, resolve, reject });
      this.kick();
    });
    return this.track(done);
  }

  /** Waits for records already appended. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.inflight]);
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inflight.add(p);
    const forget = (): void => void this.inflight.delete(p);
    p.then(forget, forget);
    return p;
  }

  private kick(): void {
    if (this.running) return;
    this.running = (async () => {
      while (this.pending.length > 0) {
        let batch: Pending[] = [];
        try {
          // The batch is taken once the lock is held: records appended while it was awaited
          // (a fan-out's replies, a run's last reply and its end) share this write and fsync.
          const records = await this.commit(() => (batch = this.pending.splice(0, MAX_BATCH)).map((p) => p.event));
          batch.forEach((p, i) => p.resolve(records[i]!));
        } catch (e) {
          const err = e instanceof Error ? e : new Error(String(e));
          if (!batch.length) batch = this.pending.splice(0, MAX_BATCH);
          for (const p of batch) p.reject(err);
        }
      }
    })().finally(() => {
      this.running = undefined;
      if (this.pending.length > 0) this.kick();
    });
  }

  private async commit(take: () => AuditEvent[]): Promise<AuditRecord[]> {
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
      return this.commitLocked(take());
    } finally {
      await release().catch(() => undefined);
    }
  }

  private commitLocked(events: AuditEvent[]): AuditRecord[] {
    const files = listAuditFiles(this.dir);
    let newest = files.at(-1);
    const state = readTailState(this.dir, files);
    const headRead = readHeadFile(this.dir);
    // Two states in one log dir would each break the other's chain for good (each takes the
    // other's records for a forgery): the log stays the first state's, and this one is told.
    const foreign = this.key && foreignKeyId(headRead, state.last, this.key);
    if (foreign) throw new AuditLogOfAnotherStateError(this.dir, foreign, this.key!.id);
    const gaps = this.findGaps(files, state, headRead);
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
      // `kid` names the key a record is MAC'd with: verify tells another state's record from a forged one.
      const body = { ...event, seq: ++seq, ts, pid: process.pid, prev, ...(this.key ? { kid: this.key.id } : {}) };
      const hash = sha256(canonical(body));
      const record = (this.key ? { ...body, hash, mac: this.key.recordMac(hash) } : { ...body, hash }) as AuditRecord;
      push(file, `${canonical(record)}\n`);
      prev = hash;
      return record;
    };
    // The repair record must directly follow the torn bytes it describes (verify pairs them).
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
    for (const gap of gaps) emit(gap);
    // A log of the previous version (or of a run without the key) goes on keyed from here;
    // verify with the key accepts unkeyed records only before this point.
    if (this.key && state.last && state.last.mac === undefined && gaps.length === 0) {
      emit({ type: 'keyed_chain_started', kid: this.key.id, reason: 'records before this one were written without the audit key' });
    }
    for (const event of events) records.push(emit(event));

    for (const { file, data } of chunks) this.writeDurably(file, data);
    // The head file exists from the first write on (seq 0 for an empty log), so a missing
    // head file beside a non-empty log always means it was removed.
    if (seq !== state.head.seq || headRead.kind !== 'ok' || gaps.length > 0) {
      writeHeadFile(this.dir, { seq, hash: prev, file: newest ?? '' }, this.key);
    }
    this.known = { seq, hash: prev };
    this.expected = undefined;
    for (const gap of gaps) {
      this.log.error('audit log gap: the log does not reach a point it was known to reach; a gap record was written', {
        expected: gap.expected,
        found: gap.found,
        source: gap.source,
        reason: gap.reason,
        logDir: this.dir,
      });
    }
    return records;
  }

  /** Every way the end of the log disagrees with what was known about it, as gap records. */
  private findGaps(files: string[], state: TailState, headRead: ReturnType<typeof readHeadFile>): GapEvent[] {
    const found = state.head;
    const gaps: GapEvent[] = [];
    const add = (source: GapEvent['source'], expected: ChainHead | null, reason: string): void => {
      if (expected && gaps.some((g) => g.expected?.seq === expected.seq && g.expected.hash === expected.hash)) return;
      gaps.push({ type: 'gap', expected: expected && { seq: expected.seq, hash: expected.hash }, found: { ...found }, source, reason });
    };
    /** Why the log does not contain `point`, or undefined when it does. */
    const missing = (point: ChainHead): string | undefined => {
      if (point.seq > found.seq) return `the log ends at seq ${found.seq} but seq ${point.seq} was written: records were cut from the end or files deleted`;
      const hash = point.seq === found.seq ? found.hash : findRecordHash(this.dir, files, point.seq);
      if (hash === undefined) return `the log holds no record with seq ${point.seq}: records were deleted`;
      if (hash !== point.hash) return `the record with seq ${point.seq} has another hash than was written: the log was rewritten from there`;
      return undefined;
    };

    if (headRead.kind === 'missing') {
      if (found.seq > 0) add('head_file', null, `${HEAD_FILE} is missing although the log holds records: it was deleted`);
    } else if (headRead.kind === 'unreadable') {
      add('head_file', null, `${HEAD_FILE} is unreadable (${headRead.why})`);
    } else {
      const head = headRead.head;
      const macProblem = headMacProblem(head, this.key, state.last?.mac !== undefined);
      const why = macProblem ?? missing(head);
      if (why) add('head_file', head, why);
    }
    if (this.expected) {
      const why = missing(this.expected);
      if (why) add('anchor', this.expected, `${why} (the state's anchor)`);
    }
    // Only the cheap part: when another process has written since, finding this process's
    // last record would mean reading the log on every append; the head file covers that.
    if (this.known && this.known.seq >= found.seq) {
      const why = missing(this.known);
      if (why) add('process', this.known, `${why} (while this process was running)`);
    }
    if (this.key && state.last) {
      const mac = state.last.mac;
      if (mac !== undefined && !macEqual(mac, this.key.recordMac(state.last.hash as string))) {
        add('head_file', null, `the last record (seq ${found.seq}) does not match its MAC: it was written without the audit key`);
      } else if (mac === undefined && headRead.kind === 'ok' && headRead.head.mac !== undefined) {
        add('head_file', null, `the last record (seq ${found.seq}) carries no MAC although the log was keyed: it was written without the audit key`);
      }
    }
    return gaps;
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
