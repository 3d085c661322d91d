import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import {
  AuditKey,
  canonical,
  type ChainHead,
  GENESIS,
  HEAD_FILE,
  headMacProblem,
  type HeadRead,
  joinLines,
  listAuditFiles,
  LOCK_FILE,
  macEqual,
  readHeadFile,
  recordHash,
  recordShaped,
  sha256,
  splitLines,
} from './chain.js';
import type { AuditRecord, GapEvent } from './events.js';

/** Checking the chain (`verify`) and reading the latest records (`tail`). */

export interface BadRecord {
  file: string;
  /** 1-based. */
  line: number;
  reason: string;
}

/** A `gap` record found in the log: records the writer knew of were missing when it wrote this. */
export interface GapReport {
  file: string;
  line: number;
  seq: number;
  ts: string;
  expected: GapEvent['expected'];
  found: GapEvent['found'];
  source: GapEvent['source'];
  reason: string;
}

export interface VerifyOptions {
  /** The audit key: every record (after the unkeyed part of an older log) and the head file must carry its MAC. */
  key?: Uint8Array;
  /** A point the log must contain (the state's copy of an earlier head): the record with this seq, with this hash. */
  anchor?: ChainHead;
}

export interface VerifyResult {
  /** The chain is intact, every check below passed, and the log holds no gap record. */
  ok: boolean;
  /** Records that verified (up to the first bad one). */
  records: number;
  files: number;
  /** The first thing wrong with the chain itself (absent when only gaps make `ok` false). */
  firstBad?: BadRecord;
  /** Gap records: losses the writer found and recorded. They keep `ok` false for good. */
  gaps: GapReport[];
  /** Torn writes that a later torn_tail_repaired record accounts for. */
  repaired: { file: string; line: number; lines: number }[];
  /** Whether audit-head.json was there to check the end of the chain against. */
  anchored: boolean;
  /** Whether the MACs were checked (a key was given). */
  keyed: boolean;
  /** With a key: records before the keyed part (written by the previous version or without the key), only plain-chained. */
  unkeyed: number;
  /** Whether a state anchor was given and found in the log. */
  anchorChecked: boolean;
  /** What this run could not have detected, given what it was given (see docs/audit.md). */
  limits: string[];
  /** The last verified record: keep its seq and hash elsewhere to detect a rewrite of the whole log. */
  head?: { seq: number; hash: string; file: string; line: number };
}

interface Snapshot {
  files: { name: string; size: number }[];
  head: HeadRead;
}

/** File sizes and the head file read together under the lock: appends after that are not seen. */
async function snapshot(dir: string): Promise<Snapshot> {
  const take = (): Snapshot => ({
    files: listAuditFiles(dir).map((name) => ({ name, size: statSync(join(dir, name)).size })),
    head: readHeadFile(dir),
  });
  if (!existsSync(dir)) return { files: [], head: { kind: 'missing' } };
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

function limitsOf(key: boolean, anchor: ChainHead | undefined): string[] {
  const out: string[] = [];
  if (!key) {
    out.push(
      'without the audit key: a rewrite of the log from any point on (hashes and head file recomputed), a forged record appended with a correct hash, ' +
        'and records cut from the end with the head file rewritten to match cannot be detected',
    );
  }
  if (!anchor) {
    out.push(
      "without the state's anchor: deleting every audit file together with the head file, and cutting the log back while restoring an older head file, cannot be detected",
    );
  } else if (key) {
    out.push(`records after the state's anchor (seq ${anchor.seq}) can still be cut together with the head file if an older head file is put back`);
  }
  return out;
}

/**
 * Checks the whole chain: every line is a canonical record whose hash matches its content,
 * whose prev is the previous record's hash (across files) and whose seq is one more; the
 * chain starts at seq 1 and reaches the seq in audit-head.json with its hash. With the key,
 * every record's MAC and the head file's MAC are checked too; with the anchor, the chain
 * must pass through it. A torn line is accepted only when the record after it is the
 * torn_tail_repaired record describing it. Gap records are listed and keep `ok` false.
 */
export async function verify(logDir: string, opts: VerifyOptions = {}): Promise<VerifyResult> {
  const snap = await snapshot(logDir);
  const key = opts.key ? new AuditKey(opts.key) : undefined;
  const result: VerifyResult = {
    ok: true,
    records: 0,
    files: snap.files.length,
    gaps: [],
    repaired: [],
    anchored: snap.head.kind === 'ok',
    keyed: !!key,
    unkeyed: 0,
    anchorChecked: false,
    limits: limitsOf(!!key, opts.anchor),
  };
  const fail = (file: string, line: number, reason: string): VerifyResult => ({ ...result, ok: false, firstBad: { file, line, reason } });

  let prevHash = GENESIS;
  let expectSeq = 1;
  let prevAt: { file: string; line: number } | undefined;
  let pending: { file: string; line: number; lines: Buffer[]; reason: string } | undefined;
  const seen = new Map<number, { hash: string; file: string; line: number }>();
  const points = [snap.head.kind === 'ok' ? snap.head.head.seq : -1, opts.anchor?.seq ?? -1];
  let keyedSeen = false;
  let lastLine = { file: snap.files.at(-1)?.name ?? auditFileNone, line: 1 };

  for (const { name, size } of snap.files) {
    const { lines, terminated } = splitLines(readPrefix(join(logDir, name), size));
    lastLine = { file: name, line: lines.length + 1 };
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
      const hash = rec.hash as string;
      if (recordHash(rec) !== hash) return fail(name, lineNo, 'content does not match its hash: the record was edited');
      if (pending) {
        const accounts =
          rec.type === 'torn_tail_repaired' &&
          rec.file === pending.file &&
          rec.line === pending.line &&
          rec.lines === pending.lines.length &&
          rec.sha256 === sha256(joinLines(pending.lines));
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
      if (key) {
        if (rec.mac !== undefined) {
          if (!macEqual(rec.mac, key.recordMac(hash))) return fail(name, lineNo, macMismatch(rec, snap.head, key));
          keyedSeen = true;
        } else if (keyedSeen) {
          return fail(name, lineNo, 'carries no MAC although earlier records do: it was written without the audit key (forged)');
        } else {
          result.unkeyed++;
        }
      }
      if (rec.type === 'gap') result.gaps.push(gapReport(rec, name, lineNo));
      if (points.includes(rec.seq as number)) seen.set(rec.seq as number, { hash, file: name, line: lineNo });
      prevHash = hash;
      expectSeq++;
      prevAt = { file: name, line: lineNo };
      result.records++;
      result.head = { seq: rec.seq as number, hash, file: name, line: lineNo };
    }
  }
  if (pending) return fail(pending.file, pending.line, pending.reason);

  const endFile = result.head?.file ?? lastLine.file;
  const endLine = result.head ? result.head.line + 1 : lastLine.line;
  const last = expectSeq - 1;
  if (key && result.records > 0 && !keyedSeen) {
    return fail(endFile, endLine, 'no record carries a MAC although the audit key was given: the log was written without this key, or replaced');
  }

  if (snap.head.kind === 'missing') {
    if (result.records > 0) return fail(endFile, endLine, `${HEAD_FILE} is missing: it was deleted (tabcrew writes it from the first record on)`);
  } else if (snap.head.kind === 'unreadable') {
    return fail(endFile, endLine, `${HEAD_FILE} is unreadable: ${snap.head.why}`);
  } else {
    const head = snap.head.head;
    const macProblem = headMacProblem(head, key, keyedSeen);
    if (macProblem) return fail(endFile, endLine, macProblem);
    const at = head.seq === 0 ? { hash: GENESIS, file: endFile, line: 1 } : seen.get(head.seq);
    if (at && at.hash !== head.hash) return fail(at.file, at.line, `differs from ${HEAD_FILE} (seq ${head.seq}): the chain was rewritten up to here`);
    if (!at) {
      const reason = `records missing: the log ends at seq ${last} but ${HEAD_FILE} says seq ${head.seq} was written (records deleted from the end, or the file truncated)`;
      if (head.file && !snap.files.some((f) => f.name === head.file)) return fail(head.file, 1, `file missing; ${reason}`);
      return fail(endFile, endLine, reason);
    }
  }

  const anchor = opts.anchor;
  if (anchor) {
    const at = anchor.seq === 0 ? { hash: GENESIS, file: endFile, line: 1 } : seen.get(anchor.seq);
    if (!at) {
      return fail(
        endFile,
        endLine,
        `records missing: the log ends at seq ${last} but the state's anchor says seq ${anchor.seq} was written (records or files deleted, or the whole log replaced)`,
      );
    }
    if (at.hash !== anchor.hash) return fail(at.file, at.line, `differs from the state's anchor (seq ${anchor.seq}): the log was rewritten up to here`);
    result.anchorChecked = true;
  }
  if (result.gaps.length > 0) result.ok = false;
  if (key && result.unkeyed > 0) result.limits.push(`${result.unkeyed} records written before the audit key was used are only plain-chained`);
  return result;
}

const auditFileNone = '(no audit file)';

/**
 * A record whose MAC this key does not make: written under another audit key when it names
 * one (its `kid`; before records carried one, the head file's), else forged. Each state has
 * its own audit key, so another key is another state writing to this log dir. A forger can
 * name another key too: either way the record is not this state's, and verify fails.
 */
function macMismatch(rec: Record<string, unknown>, head: HeadRead, key: AuditKey): string {
  if (rec.kid === key.id) return "does not match its MAC: the record was forged (it names this state's audit key, whose MAC it does not carry)";
  const named = typeof rec.kid === 'string' ? rec.kid : head.kind === 'ok' && head.head.kid !== key.id ? head.head.kid : undefined;
  if (named === undefined) {
    return 'does not match its MAC: the record was forged (or written under another audit key by a tabcrew that did not yet put key ids in records)';
  }
  return (
    `written under another audit key (key id ${named}; this state's is ${key.id}): another state dir wrote to this log dir (another --state-dir with the same --log-dir?). ` +
    "Not a forgery by itself, but these records are not this state's to vouch for: give each state its own --log-dir (docs/audit.md)"
  );
}

function gapReport(rec: Record<string, unknown>, file: string, line: number): GapReport {
  return {
    file,
    line,
    seq: rec.seq as number,
    ts: String(rec.ts),
    expected: (rec.expected ?? null) as GapReport['expected'],
    found: rec.found as GapReport['found'],
    source: rec.source as GapReport['source'],
    reason: String(rec.reason),
  };
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
