import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AuditLog, AuditLogOfAnotherStateError, canonical, sha256, verify, type AuditRecord } from '../../src/audit/audit-log.js';
import { AuditKey, writeHeadFile } from '../../src/audit/chain.js';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'tabcrew-audit-two-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const now = (): Date => new Date('2025-03-01T12:00:00.000Z');
const FILE = 'audit-2025-03-01.jsonl';

async function write(dir: string, n: number, key: Uint8Array): Promise<void> {
  const log = new AuditLog(dir, { now, key });
  await log.init();
  for (let i = 1; i <= n; i++) await log.append({ type: 'test', i });
  await log.close();
}
const records = (dir: string): AuditRecord[] =>
  readFileSync(join(dir, FILE), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as AuditRecord);

/** What a writer with `key` appends after the log's last record (as a tabcrew before this check wrote it). */
function appendWith(dir: string, key: Uint8Array, extra: Record<string, unknown> = {}): void {
  const k = new AuditKey(key);
  const last = records(dir).at(-1)!;
  const body = { type: 'test', seq: last.seq + 1, ts: now().toISOString(), pid: 1, prev: last.hash, kid: k.id, ...extra };
  const hash = sha256(canonical(body));
  appendFileSync(join(dir, FILE), `${canonical({ ...body, hash, mac: k.recordMac(hash) })}\n`);
  writeHeadFile(dir, { seq: body.seq, hash, file: FILE }, k);
}

describe('two states and one log dir', () => {
  it('every keyed record names its audit key (kid)', async () => {
    const dir = tmp();
    const key = randomBytes(32);
    await write(dir, 2, key);
    expect(records(dir).map((r) => r.kid)).toEqual([new AuditKey(key).id, new AuditKey(key).id]);
  });

  it("a second state (another audit key) is refused the first's log dir, and the first's verify stays intact", async () => {
    const dir = tmp();
    const first = randomBytes(32);
    const second = randomBytes(32);
    await write(dir, 2, first);
    const other = new AuditLog(dir, { now, key: second });
    const refusal = await other.init().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refusal).toBeInstanceOf(AuditLogOfAnotherStateError);
    expect((refusal as Error).message).toContain(`kept with audit key id ${new AuditKey(first).id}, and this state's is ${new AuditKey(second).id}`);
    expect((refusal as Error).message).toMatch(/--log-dir .*<state dir>-logs/);
    await expect(other.append({ type: 'test' })).rejects.toBeInstanceOf(AuditLogOfAnotherStateError);
    await other.close();
    expect(records(dir)).toHaveLength(2);
    // The first state goes on as before.
    await write(dir, 1, first);
    expect(await verify(dir, { key: first })).toMatchObject({ ok: true, records: 3, gaps: [] });
  });

  it('verify tells records written under another key (another state) apart from forged ones', async () => {
    const first = randomBytes(32);
    const second = randomBytes(32);

    const shared = tmp();
    await write(shared, 2, first);
    appendWith(shared, second);
    const r = await verify(shared, { key: first });
    expect(r.ok).toBe(false);
    expect(r.firstBad).toMatchObject({ line: 3 });
    expect(r.firstBad!.reason).toMatch(
      new RegExp(`^written under another audit key \\(key id ${new AuditKey(second).id}; this state's is ${new AuditKey(first).id}\\): another state dir`),
    );
    expect(r.firstBad!.reason).not.toMatch(/forged/);

    const forged = tmp();
    await write(forged, 2, first);
    // Names the first state's key, but its MAC is someone else's.
    appendWith(forged, second, { kid: new AuditKey(first).id });
    const f = await verify(forged, { key: first });
    expect(f.firstBad).toMatchObject({ line: 3, reason: expect.stringMatching(/^does not match its MAC: the record was forged/) });
  });
});
