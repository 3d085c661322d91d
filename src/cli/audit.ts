import { tail, verify, type ChainHead, type VerifyOptions, type VerifyResult } from '../audit/audit-log.js';
import type { Config } from '../config.js';
import { hasEncryptedState, openStateStore } from '../store/state-store.js';
import { printJson, printTable } from './table.js';

/** The audit fields of the state, as far as they are there. */
interface StateAuditFields {
  /** The audit key, base64 (32 random bytes). */
  auditKey?: unknown;
  /** The audit head the state saw at its last save. */
  audit?: unknown;
}

/**
 * The audit key and anchor kept in the encrypted state, for `new AuditLog(dir, { ...these })`
 * and `verify(dir, these)`. Either may be absent (an older state): then it is left out.
 */
export function auditOptionsFromState(state: object): { key?: Uint8Array; anchor?: ChainHead } {
  const s = state as StateAuditFields;
  const out: { key?: Uint8Array; anchor?: ChainHead } = {};
  if (typeof s.auditKey === 'string') {
    const key = Buffer.from(s.auditKey, 'base64');
    if (key.length >= 16) out.key = new Uint8Array(key);
  }
  const a = s.audit as Partial<ChainHead> | undefined;
  if (a && typeof a === 'object' && Number.isSafeInteger(a.seq) && typeof a.hash === 'string' && /^[0-9a-f]{64}$/.test(a.hash)) {
    out.anchor = { seq: a.seq!, hash: a.hash };
  }
  return out;
}

/** Reads the key and anchor from the state when there is one; never creates a state or a key. */
async function verifyOptionsFor(config: Config): Promise<{ opts: VerifyOptions; notes: string[] }> {
  if (!(await hasEncryptedState(config.stateDir))) {
    return { opts: {}, notes: [`no state in ${config.stateDir}: verifying the plain hash chain only (no audit key, no anchor)`] };
  }
  try {
    const store = await openStateStore({ dir: config.stateDir, keySource: config.keySource, keyFile: config.keyFile });
    const opts = auditOptionsFromState(await store.read());
    const notes: string[] = [];
    if (!opts.key) notes.push('the state holds no audit key: MACs are not checked');
    if (!opts.anchor) notes.push('the state holds no audit anchor yet');
    return { opts, notes };
  } catch (e) {
    return {
      opts: {},
      notes: [`the state could not be read (${(e as Error).message}): verifying the plain hash chain only — fix the state key to check MACs and the anchor`],
    };
  }
}

/** `tabcrew audit verify`: exits 1 naming the first edited, deleted, reordered or truncated record, or the gaps recorded. */
export async function auditVerifyCommand(config: Config, opts: { json: boolean }): Promise<number> {
  const { opts: verifyOpts, notes } = await verifyOptionsFor(config);
  const r = await verify(config.logDir, verifyOpts);
  if (opts.json) {
    printJson({ ...r, notes });
    return r.ok ? 0 : 1;
  }
  for (const n of notes) process.stderr.write(`note: ${n}\n`);
  printGaps(r);
  if (r.firstBad) {
    const bad = r.firstBad;
    process.stderr.write(`${bad.file}:${bad.line}: ${bad.reason}\n`);
    return 1;
  }
  const checked = [r.keyed ? 'MACs checked' : 'MACs not checked', r.anchorChecked ? "state's anchor found" : "no state's anchor"].join(', ');
  const what = r.gaps.length > 0 ? 'audit chain intact after the gaps above' : 'audit log intact';
  process.stdout.write(`${what}: ${r.records} records in ${r.files} files (${checked})`);
  process.stdout.write(r.head ? `; head #${r.head.seq} ${r.head.hash}\n` : '\n');
  for (const t of r.repaired) process.stdout.write(`note: ${t.file}:${t.line} was a torn line left by a crash, recorded as repaired\n`);
  for (const l of r.limits) process.stdout.write(`cannot detect: ${l} (see docs/audit.md)\n`);
  return r.ok ? 0 : 1;
}

function printGaps(r: VerifyResult): void {
  for (const g of r.gaps) {
    const expected = g.expected ? `seq ${g.expected.seq} (${g.expected.hash.slice(0, 16)}…)` : 'unknown';
    process.stderr.write(
      `GAP ${g.file}:${g.line} (seq ${g.seq}, ${g.ts}): records were lost before this point — expected ${expected}, found seq ${g.found.seq}: ${g.reason}\n`,
    );
  }
}

/** `tabcrew audit tail`: the latest records, oldest first. */
export async function auditTailCommand(config: Config, opts: { agent?: string; session?: string; limit: number; json: boolean }): Promise<number> {
  const records = await tail(config.logDir, { agent: opts.agent, session: opts.session, limit: opts.limit });
  if (opts.json) {
    for (const r of records) process.stdout.write(JSON.stringify(r) + '\n');
    return 0;
  }
  const r = records as unknown as Record<string, unknown>[];
  printTable(
    ['TIME', 'SEQ', 'TYPE', 'AGENT', 'WHAT', 'OUTCOME'],
    r.map((x) => [x.ts, x.seq, x.type, x.agent ?? '', x.tool ?? x.to ?? x.action ?? x.what ?? '', x.outcome ?? x.source ?? '']),
  );
  return 0;
}
