import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AuditLog, canonical, GENESIS, HEAD_FILE, sha256, verify, type AuditRecord, type ChainHead } from '../../src/audit/audit-log.js';
import type { Logger } from '../../src/audit/logger.js';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'tabcrew-audit-tamper-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const now = (): Date => new Date('2025-03-01T12:00:00.000Z');
const FILE = 'audit-2025-03-01.jsonl';

/** An operational logger that keeps what it was told. */
function recordingLogger(): Logger & { errors: { message: string; meta: unknown }[] } {
  const errors: { message: string; meta: unknown }[] = [];
  const noop = (() => undefined) as unknown as Logger['info'];
  return {
    errors,
    info: noop,
    warn: noop,
    debug: noop,
    error: ((message: string, meta: unknown) => void errors.push({ message, meta })) as unknown as Logger['error'],
  };
}

/** Writes n records; returns the writer's head after them. */
async function write(dir: string, n: number, opts: { key?: Uint8Array; expected?: ChainHead; log?: Logger } = {}): Promise<ChainHead> {
  const log = new AuditLog(dir, { now, ...opts });
  await log.init();
  for (let i = 1; i <= n; i++) await log.append({ type: 'test', i });
  const head = log.head()!;
  await log.close();
  return head;
}

function lines(dir: string): string[] {
  return readFileSync(join(dir, FILE), 'utf8').split('\n').slice(0, -1);
}
function keep(dir: string, n: number): void {
  writeFileSync(
    join(dir, FILE),
    lines(dir)
      .slice(0, n)
      .map((l) => `${l}\n`)
      .join(''),
  );
}
function records(dir: string): AuditRecord[] {
  return lines(dir).map((l) => JSON.parse(l) as AuditRecord);
}
/** A record anyone can make: correct seq, prev and plain hash, no key. */
function forge(after: AuditRecord, fields: Record<string, unknown>): string {
  const body = { ...fields, seq: after.seq + 1, ts: after.ts, pid: 1, prev: after.hash };
  return canonical({ ...body, hash: sha256(canonical(body)) });
}

describe('truncation is never papered over', () => {
  it('cutting the last lines is reported as a gap after a restart', async () => {
    const dir = tmp();
    await write(dir, 10);
    keep(dir, 7);
    const op = recordingLogger();
    await write(dir, 1, { log: op });

    const gap = records(dir).find((r) => r.type === 'gap')!;
    expect(gap).toMatchObject({ seq: 8, expected: { seq: 10 }, found: { seq: 7 }, source: 'head_file' });
    expect(op.errors).toHaveLength(1);
    expect(op.errors[0]).toMatchObject({ message: expect.stringMatching(/gap/), meta: { expected: { seq: 10 }, found: { seq: 7 } } });

    const r = await verify(dir);
    expect(r).toMatchObject({
      ok: false,
      records: 9,
      gaps: [{ seq: 8, line: 8, expected: { seq: 10 }, found: { seq: 7 }, reason: expect.stringMatching(/cut/) }],
    });
    expect(r.firstBad).toBeUndefined();
    // Forever: later writers keep the gap in the chain, and verify keeps reporting it.
    await write(dir, 3);
    expect(await verify(dir)).toMatchObject({ ok: false, records: 12, gaps: [{ seq: 8 }] });
  });

  it('cutting the last lines and deleting the head file is reported as a gap after a restart', async () => {
    const dir = tmp();
    await write(dir, 5);
    keep(dir, 3);
    rmSync(join(dir, HEAD_FILE));
    expect((await verify(dir)).firstBad).toMatchObject({ reason: expect.stringMatching(/audit-head.json is missing/) });
    await write(dir, 1);
    expect(await verify(dir)).toMatchObject({ ok: false, gaps: [{ expected: null, found: { seq: 3 }, reason: expect.stringMatching(/missing/) }] });
  });

  it('cutting the log while the writer runs is a gap at its next append', async () => {
    const dir = tmp();
    const log = new AuditLog(dir, { now });
    for (let i = 1; i <= 4; i++) await log.append({ type: 'test', i });
    keep(dir, 2);
    rmSync(join(dir, HEAD_FILE));
    await log.append({ type: 'test', i: 5 });
    await log.close();
    const r = await verify(dir);
    expect(r.gaps.map((g) => g.source).sort()).toEqual(['head_file', 'process']);
    expect(r.gaps.find((g) => g.source === 'process')).toMatchObject({ expected: { seq: 4 }, found: { seq: 2 } });
  });

  it("deleting the log and the head is detected against the state's anchor", async () => {
    const dir = tmp();
    const anchor = await write(dir, 6);
    rmSync(join(dir, FILE));
    rmSync(join(dir, HEAD_FILE));
    // Without the anchor nothing is left to compare with: verify says so in its limits.
    const plain = await verify(dir);
    expect(plain).toMatchObject({ ok: true, records: 0 });
    expect(plain.limits.join(' ')).toMatch(/deleting every audit file together with the head file/);

    expect(await verify(dir, { anchor })).toMatchObject({ ok: false, firstBad: { reason: expect.stringMatching(/anchor says seq 6/) } });
    await write(dir, 1, { expected: anchor });
    expect(await verify(dir)).toMatchObject({ ok: false, gaps: [{ seq: 1, source: 'anchor', expected: anchor, found: { seq: 0, hash: GENESIS } }] });
  });

  it("cutting lines and putting back an older head file is detected against the state's anchor", async () => {
    const dir = tmp();
    const key = randomBytes(32);
    await write(dir, 3, { key });
    const oldHead = readFileSync(join(dir, HEAD_FILE));
    const anchor = await write(dir, 3, { key });
    keep(dir, 3);
    writeFileSync(join(dir, HEAD_FILE), oldHead);
    expect(await verify(dir, { key })).toMatchObject({ ok: true, records: 3 });
    expect(await verify(dir, { key, anchor })).toMatchObject({ ok: false, firstBad: { line: 4, reason: expect.stringMatching(/anchor says seq 6/) } });
  });

  it('a state anchor older than the head passes (the state is saved less often than the log)', async () => {
    const dir = tmp();
    const anchor = await write(dir, 2);
    await write(dir, 5, { expected: anchor });
    expect(await verify(dir, { anchor })).toMatchObject({ ok: true, records: 7, anchorChecked: true, gaps: [] });
  });

  it('a state anchor whose hash the log does not have is a rewrite', async () => {
    const dir = tmp();
    const anchor = await write(dir, 4);
    expect(await verify(dir, { anchor: { seq: 2, hash: anchor.hash } })).toMatchObject({
      ok: false,
      firstBad: { line: 2, reason: expect.stringMatching(/rewritten/) },
    });
  });

  it('a crash between the log write and the head file is not a gap', async () => {
    const dir = tmp();
    await write(dir, 3);
    const stale = readFileSync(join(dir, HEAD_FILE));
    await write(dir, 2);
    writeFileSync(join(dir, HEAD_FILE), stale);
    await write(dir, 1);
    expect(await verify(dir)).toMatchObject({ ok: true, records: 6, gaps: [] });
  });
});

describe('keyed chain', () => {
  it('a forged record with a correct plain hash fails verify when the key is present', async () => {
    const dir = tmp();
    const key = randomBytes(32);
    await write(dir, 4, { key });
    expect(await verify(dir, { key })).toMatchObject({ ok: true, records: 4, keyed: true, unkeyed: 0 });
    const last = records(dir).at(-1)!;
    appendFileSync(join(dir, FILE), `${forge(last, { type: 'tool_call', tool: 'delete_session' })}\n`);
    const head = JSON.parse(readFileSync(join(dir, HEAD_FILE), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, HEAD_FILE), JSON.stringify({ ...head, seq: 5, hash: JSON.parse(lines(dir).at(-1)!).hash }));

    // The plain chain cannot tell …
    const plain = await verify(dir);
    expect(plain).toMatchObject({ ok: true, records: 5 });
    expect(plain.limits.join(' ')).toMatch(/without the audit key/);
    // … the keyed one can.
    expect(await verify(dir, { key })).toMatchObject({ ok: false, firstBad: { line: 5, reason: expect.stringMatching(/MAC/) } });
  });

  it('the head file edited without the key is detected', async () => {
    const dir = tmp();
    const key = randomBytes(32);
    await write(dir, 5, { key });
    keep(dir, 3);
    const r3 = records(dir).at(-1)!;
    const head = JSON.parse(readFileSync(join(dir, HEAD_FILE), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, HEAD_FILE), JSON.stringify({ ...head, seq: 3, hash: r3.hash }));
    expect(await verify(dir)).toMatchObject({ ok: true, records: 3 });
    expect(await verify(dir, { key })).toMatchObject({ ok: false, firstBad: { reason: expect.stringMatching(/does not match its MAC/) } });
    // The writer does not accept it either.
    await write(dir, 1, { key });
    expect(await verify(dir, { key })).toMatchObject({ ok: false, gaps: [{ source: 'head_file', reason: expect.stringMatching(/MAC/) }] });
  });

  it('a head file without a MAC beside a keyed log is detected', async () => {
    const dir = tmp();
    const key = randomBytes(32);
    await write(dir, 3, { key });
    const { seq, hash, file } = JSON.parse(readFileSync(join(dir, HEAD_FILE), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, HEAD_FILE), JSON.stringify({ seq, hash, file }));
    expect(await verify(dir, { key })).toMatchObject({ ok: false, firstBad: { reason: expect.stringMatching(/no MAC/) } });
  });

  it('stripping the MACs is detected with the key', async () => {
    const dir = tmp();
    const key = randomBytes(32);
    await write(dir, 3, { key });
    writeFileSync(
      join(dir, FILE),
      records(dir)
        .map(({ mac: _m, ...r }) => `${canonical(r)}\n`)
        .join(''),
    );
    expect(await verify(dir)).toMatchObject({ ok: true, records: 3 });
    expect(await verify(dir, { key })).toMatchObject({ ok: false, firstBad: { reason: expect.stringMatching(/no record carries a MAC/) } });
    // The writer does not take the stripped log for one of the previous version.
    await write(dir, 1, { key });
    expect(records(dir).find((r) => r.type === 'keyed_chain_started')).toBeUndefined();
    expect(await verify(dir, { key })).toMatchObject({ ok: false, gaps: [{ reason: expect.stringMatching(/carries no MAC/) }] });
  });

  it('a log written with another key fails verify', async () => {
    const dir = tmp();
    await write(dir, 2, { key: randomBytes(32) });
    expect(await verify(dir, { key: randomBytes(32) })).toMatchObject({
      ok: false,
      firstBad: { line: 1, reason: expect.stringMatching(/^written under another audit key/) },
    });
  });

  it('a log of the previous version (no MACs) continues keyed, and only its old records are unkeyed', async () => {
    const dir = tmp();
    await write(dir, 3);
    const key = randomBytes(32);
    await write(dir, 2, { key });
    const recs = records(dir);
    expect(recs[3]).toMatchObject({ type: 'keyed_chain_started', seq: 4 });
    expect(recs.slice(0, 3).every((r) => r.mac === undefined)).toBe(true);
    expect(recs.slice(3).every((r) => typeof r.mac === 'string')).toBe(true);
    const r = await verify(dir, { key });
    expect(r).toMatchObject({ ok: true, records: 6, unkeyed: 3, gaps: [] });
    expect(r.limits.join(' ')).toMatch(/3 records written before the audit key/);
    // Anyone without the key still verifies the plain chain.
    expect(await verify(dir)).toMatchObject({ ok: true, records: 6 });
  });

  it('a log with no MAC at all fails when the key is given', async () => {
    const dir = tmp();
    await write(dir, 2);
    expect(await verify(dir, { key: randomBytes(32) })).toMatchObject({ ok: false, firstBad: { reason: expect.stringMatching(/no record carries a MAC/) } });
  });
});

it('leaves only the audit files, the head file and nothing else in the log dir', async () => {
  const dir = tmp();
  await write(dir, 2, { key: randomBytes(32) });
  expect(readdirSync(dir).sort()).toEqual([FILE, HEAD_FILE]);
});
