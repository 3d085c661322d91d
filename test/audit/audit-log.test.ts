import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog, GENESIS, HEAD_FILE, tail, toolCallEvent, verify, type AuditRecord } from '../../src/audit/audit-log.js';
import { createLogger } from '../../src/audit/logger.js';
import { SECRET_CORPUS } from './secret-corpus.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const fixture = join(repo, 'test/audit/fixtures/audit-child.mjs');
const dirs: string[] = [];

function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'tabcrew-audit-'));
  dirs.push(d);
  return d;
}

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function clock(iso: string): { now: () => Date; advance: (ms: number) => void } {
  let t = Date.parse(iso);
  return { now: () => new Date(t), advance: (ms) => void (t += ms) };
}

const DAY1 = '2025-03-01T12:00:00.000Z';

async function writeRecords(dir: string, n: number, now = clock(DAY1).now): Promise<void> {
  const log = new AuditLog(dir, { now });
  for (let i = 1; i <= n; i++) await log.append({ type: 'test', i, agent: `Agent_${(i % 2) + 1}` });
  await log.close();
}

function auditFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => /^audit-.*\.jsonl$/.test(f))
    .sort();
}

function fileLines(path: string): string[] {
  return readFileSync(path, 'utf8').split('\n').slice(0, -1);
}

function rewrite(path: string, lines: string[]): void {
  writeFileSync(path, lines.map((l) => `${l}\n`).join(''));
}

describe('audit log chain', () => {
  it('verifies after N appends, with seq 1..N and each prev the hash of the record before', async () => {
    const dir = tmp();
    await writeRecords(dir, 40);
    const result = await verify(dir);
    expect(result).toMatchObject({ ok: true, records: 40, files: 1, anchored: true });
    const recs = fileLines(join(dir, 'audit-2025-03-01.jsonl')).map((l) => JSON.parse(l) as AuditRecord);
    expect(recs.map((r) => r.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(recs[0]!.prev).toBe(GENESIS);
    for (let i = 1; i < recs.length; i++) expect(recs[i]!.prev).toBe(recs[i - 1]!.hash);
    expect(result.head).toMatchObject({ seq: 40, hash: recs[39]!.hash, line: 40 });
  });

  it('has the record on disk when append resolves, and concurrent appends in one process stay one chain', async () => {
    const dir = tmp();
    const a = new AuditLog(dir);
    const b = new AuditLog(dir);
    const rec = await a.append({ type: 'test', marker: 'first' });
    expect(readFileSync(join(dir, auditFiles(dir)[0]!), 'utf8')).toContain(rec.hash);
    await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 ? a : b).append({ type: 'test', i })));
    await Promise.all([a.close(), b.close()]);
    expect(await verify(dir)).toMatchObject({ ok: true, records: 61 });
  });

  it('continues the chain across a day boundary (UTC), including after a restart', async () => {
    const dir = tmp();
    const c = clock('2025-03-01T23:59:59.000Z');
    const log = new AuditLog(dir, { now: c.now });
    await log.append({ type: 'test', i: 1 });
    await log.append({ type: 'test', i: 2 });
    c.advance(2000);
    await log.append({ type: 'test', i: 3 });
    await log.close();
    c.advance(86_400_000);
    const restarted = new AuditLog(dir, { now: c.now });
    await restarted.append({ type: 'test', i: 4 });
    await restarted.close();

    expect(auditFiles(dir)).toEqual(['audit-2025-03-01.jsonl', 'audit-2025-03-02.jsonl', 'audit-2025-03-03.jsonl']);
    const day1 = fileLines(join(dir, 'audit-2025-03-01.jsonl')).map((l) => JSON.parse(l) as AuditRecord);
    const day2 = fileLines(join(dir, 'audit-2025-03-02.jsonl')).map((l) => JSON.parse(l) as AuditRecord);
    const day3 = fileLines(join(dir, 'audit-2025-03-03.jsonl')).map((l) => JSON.parse(l) as AuditRecord);
    expect(day2[0]!.prev).toBe(day1.at(-1)!.hash);
    expect(day3[0]!).toMatchObject({ seq: 4, prev: day2.at(-1)!.hash });
    expect(await verify(dir)).toMatchObject({ ok: true, records: 4, files: 3 });
  });

  it('never writes behind the newest file when a clock runs behind it', async () => {
    const dir = tmp();
    await writeRecords(dir, 2, clock('2025-03-02T00:00:01.000Z').now);
    await writeRecords(dir, 2, clock('2025-03-01T23:59:59.000Z').now);
    expect(auditFiles(dir)).toEqual(['audit-2025-03-02.jsonl']);
    expect(await verify(dir)).toMatchObject({ ok: true, records: 4 });
  });

  it('rejects events that try to set the chain fields', async () => {
    const log = new AuditLog(tmp());
    await expect(log.append({ type: 'test', seq: 1 })).rejects.toThrow(/seq/);
    await expect(log.append({ type: '' })).rejects.toThrow(/type/);
    await log.close();
  });
});

describe('verify finds tampering at the right line', () => {
  const N = 12;
  let pristine: string;
  let pristineLines: string[];

  beforeAll(async () => {
    pristine = tmp();
    await writeRecords(pristine, N);
    pristineLines = fileLines(join(pristine, 'audit-2025-03-01.jsonl'));
  });

  /** A copy of the pristine log whose day file gets `edit` applied. */
  function tampered(edit: (lines: string[]) => string[] | string): string {
    const dir = tmp();
    for (const f of readdirSync(pristine)) writeFileSync(join(dir, f), readFileSync(join(pristine, f)));
    const out = edit([...pristineLines]);
    const path = join(dir, 'audit-2025-03-01.jsonl');
    if (typeof out === 'string') writeFileSync(path, out);
    else rewrite(path, out);
    return dir;
  }

  it('fails on any single edited byte, at that line (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: N }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 0x20, max: 0x7e }),
        async (line, where, byte) => {
          const text = pristineLines[line - 1]!;
          const at = Math.min(text.length - 1, Math.floor(where * text.length));
          fc.pre(text.charCodeAt(at) !== byte);
          const dir = tampered((lines) => {
            lines[line - 1] = text.slice(0, at) + String.fromCharCode(byte) + text.slice(at + 1);
            return lines;
          });
          const r = await verify(dir);
          expect(r.ok).toBe(false);
          expect(r.firstBad).toMatchObject({ file: 'audit-2025-03-01.jsonl', line });
        },
      ),
      { numRuns: 40 },
    );
  });

  it('reports an edit that keeps the JSON valid as a hash mismatch', async () => {
    const dir = tampered((lines) => {
      lines[4] = lines[4]!.replace('"i":5', '"i":6');
      return lines;
    });
    const r = await verify(dir);
    expect(r.firstBad).toEqual({ file: 'audit-2025-03-01.jsonl', line: 5, reason: expect.stringMatching(/hash/) });
    expect(r.records).toBe(4);
  });

  it('fails where a line was deleted', async () => {
    const r = await verify(tampered((lines) => lines.filter((_, i) => i !== 6)));
    expect(r.firstBad).toMatchObject({ line: 7, reason: expect.stringMatching(/deleted, inserted or reordered/) });
  });

  it('fails where two lines were swapped', async () => {
    const r = await verify(
      tampered((lines) => {
        [lines[2], lines[3]] = [lines[3]!, lines[2]!];
        return lines;
      }),
    );
    expect(r.firstBad).toMatchObject({ line: 3 });
  });

  it('fails when the first line was deleted (the chain no longer starts at seq 1)', async () => {
    const r = await verify(tampered((lines) => lines.slice(1)));
    expect(r.firstBad).toMatchObject({ line: 1, reason: expect.stringMatching(/does not start/) });
  });

  it('fails at the torn line when the file was truncated mid-record', async () => {
    const r = await verify(tampered((lines) => lines.slice(0, 8).join('\n') + '\n' + lines[8]!.slice(0, 30)));
    expect(r.firstBad).toMatchObject({ line: 9, reason: expect.stringMatching(/incomplete last line/) });
  });

  it('fails after the last kept line when the file was truncated at a record boundary or the last line deleted', async () => {
    const cut = await verify(tampered((lines) => lines.slice(0, 8)));
    expect(cut.firstBad).toMatchObject({ file: 'audit-2025-03-01.jsonl', line: 9, reason: expect.stringMatching(/records missing.*seq 8.*seq 12/) });
    const last = await verify(tampered((lines) => lines.slice(0, -1)));
    expect(last.firstBad).toMatchObject({ line: N });
  });

  it('fails when a whole day file is deleted', async () => {
    const dir = tmp();
    const c = clock('2025-03-01T23:59:59.000Z');
    await writeRecords(dir, 2, c.now);
    c.advance(86_400_000);
    await writeRecords(dir, 2, c.now);
    c.advance(86_400_000);
    await writeRecords(dir, 2, c.now);
    rmSync(join(dir, 'audit-2025-03-02.jsonl'));
    expect((await verify(dir)).firstBad).toMatchObject({ file: 'audit-2025-03-03.jsonl', line: 1 });
    rmSync(join(dir, 'audit-2025-03-03.jsonl'));
    expect((await verify(dir)).firstBad).toMatchObject({ file: 'audit-2025-03-03.jsonl', reason: expect.stringMatching(/file missing/) });
  });
});

describe('torn tail after a crash', () => {
  it('is reported by verify until the next writer marks it, then verify passes and lists the repair', async () => {
    const dir = tmp();
    await writeRecords(dir, 5);
    const path = join(dir, 'audit-2025-03-01.jsonl');
    appendFileSync(path, '{"agent":"Agent_1","hash":"ab');
    expect((await verify(dir)).firstBad).toMatchObject({ line: 6, reason: expect.stringMatching(/incomplete last line/) });

    const log = new AuditLog(dir, { now: clock(DAY1).now });
    await log.init();
    await log.append({ type: 'test', after: 'crash' });
    await log.close();

    const result = await verify(dir);
    expect(result).toMatchObject({ ok: true, records: 7, repaired: [{ file: 'audit-2025-03-01.jsonl', line: 6, lines: 1 }] });
    const lines = fileLines(path);
    expect(lines[5]).toBe('{"agent":"Agent_1","hash":"ab');
    const repair = JSON.parse(lines[6]!) as AuditRecord;
    expect(repair).toMatchObject({ type: 'torn_tail_repaired', seq: 6, file: 'audit-2025-03-01.jsonl', line: 6, lines: 1, bytes: 29 });
    expect(repair.prev).toBe((JSON.parse(lines[4]!) as AuditRecord).hash);
    expect(JSON.parse(lines[7]!)).toMatchObject({ seq: 7, after: 'crash', prev: repair.hash });
  });

  it('does not accept a repair record that describes different bytes', async () => {
    const dir = tmp();
    await writeRecords(dir, 3);
    const path = join(dir, 'audit-2025-03-01.jsonl');
    appendFileSync(path, '{"torn":');
    await writeRecords(dir, 1);
    const lines = fileLines(path);
    lines[3] = '{"torn":"something else"';
    rewrite(path, lines);
    expect((await verify(dir)).firstBad).toMatchObject({ line: 4 });
  });

  it('completes a last record that only lost its newline, without a repair record', async () => {
    const dir = tmp();
    await writeRecords(dir, 3);
    const path = join(dir, 'audit-2025-03-01.jsonl');
    truncateSync(path, statSync(path).size - 1);
    expect(await verify(dir)).toMatchObject({ ok: true, records: 3 });
    await writeRecords(dir, 1);
    expect(await verify(dir)).toMatchObject({ ok: true, records: 4, repaired: [] });
  });
});

describe('tool-call records and tail', () => {
  it('stores message bodies as length and hash prefix only, and redacts other arguments', async () => {
    const dir = tmp();
    const log = new AuditLog(dir);
    const body = 'please deploy with password=hunter2 and report back';
    await log.append(
      toolCallEvent({
        tool: 'send_message_to_agent',
        caller: 'claude-ai',
        args: { agent: 'Agent_1', message: body, wait_for_reply: true, note: 'token: abc123xyz' },
        outcome: 'ok',
        ms: 12,
      }),
    );
    await log.close();
    const text = readFileSync(join(dir, auditFiles(dir)[0]!), 'utf8');
    expect(text).not.toContain('deploy');
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('abc123xyz');
    const [rec] = await tail(dir);
    expect(rec).toMatchObject({
      type: 'tool_call',
      tool: 'send_message_to_agent',
      caller: 'claude-ai',
      agent: 'Agent_1',
      outcome: 'ok',
      ms: 12,
      args: {
        agent: 'Agent_1',
        message: { length: body.length, sha256_prefix: expect.stringMatching(/^[0-9a-f]{16}$/) },
        wait_for_reply: true,
        note: 'token: [REDACTED:token]',
      },
    });
  });

  it('tails the newest records, oldest first, filtered by agent and session, across files', async () => {
    const dir = tmp();
    const c = clock('2025-03-01T23:59:58.000Z');
    const log = new AuditLog(dir, { now: c.now });
    for (let i = 1; i <= 6; i++) {
      await log.append({ type: 'status_change', agent: `Agent_${(i % 2) + 1}`, session: i <= 3 ? 's-a' : 's-b', to: 'idle', source: 'hook', i });
      c.advance(1000);
    }
    await log.close();
    expect(auditFiles(dir)).toHaveLength(2);
    expect((await tail(dir, { limit: 3 })).map((r) => r.i)).toEqual([4, 5, 6]);
    expect((await tail(dir, { agent: 'Agent_1' })).map((r) => r.i)).toEqual([2, 4, 6]);
    expect((await tail(dir, { agent: 'Agent_2', session: 's-a' })).map((r) => r.i)).toEqual([1, 3]);
  });
});

describe('audit log across processes', () => {
  let bundleUrl: string;

  beforeAll(async () => {
    // The child processes need the module as JavaScript; bundling just this file keeps the
    // test independent of whether the rest of the project builds at the moment.
    const { build } = await import('esbuild');
    const outfile = join(repo, 'node_modules/.cache/tabcrew-audit-test', `audit-log-${process.pid}.mjs`);
    await build({
      entryPoints: [join(repo, 'src/audit/audit-log.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      outfile,
      logLevel: 'warning',
    });
    bundleUrl = pathToFileURL(outfile).href;
    dirs.push(outfile);
  });

  function child(args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const p = spawn(process.execPath, [fixture, bundleUrl, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      p.on('error', reject);
      p.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    });
  }

  it('keeps one linear keyed chain, without false gaps, when two processes append at the same time', async () => {
    const dir = tmp();
    const key = randomBytes(32);
    const start = String(Date.now() + 1500);
    const [a, b] = await Promise.all([
      child(['append', dir, '120', 'A', start, key.toString('hex')]),
      child(['append', dir, '120', 'B', start, key.toString('hex')]),
    ]);
    expect(a, a.stderr).toMatchObject({ code: 0, stdout: 'done\n' });
    expect(b, b.stderr).toMatchObject({ code: 0, stdout: 'done\n' });

    expect(await verify(dir, { key })).toMatchObject({ ok: true, records: 240, gaps: [], unkeyed: 0 });
    const recs = await tail(dir, { limit: Infinity });
    for (const who of ['A', 'B']) expect(recs.filter((r) => r.who === who).map((r) => r.i)).toEqual(Array.from({ length: 120 }, (_, i) => i));
    // Both really wrote during the same time, or the test proves nothing about the lock.
    const span = (who: string): [number, number] => {
      const ts = recs.filter((r) => r.who === who).map((r) => Date.parse(r.ts));
      return [Math.min(...ts), Math.max(...ts)];
    };
    const [[a0, a1], [b0, b1]] = [span('A'), span('B')];
    expect(Math.min(a1, b1)).toBeGreaterThanOrEqual(Math.max(a0, b0));
  });

  it('has the record on disk when a process is SIGKILLed right after append resolved', async () => {
    const dir = tmp();
    await writeRecords(dir, 2, () => new Date());
    const r = await child(['append-then-kill', dir, '1', 'K']);
    expect(r.signal).toBe('SIGKILL');
    const recs = await tail(dir);
    expect(recs.at(-1)).toMatchObject({ who: 'K', marker: 'acknowledged-before-kill', seq: 3 });
    expect(await verify(dir)).toMatchObject({ ok: true, records: 3 });
    // The lock was released before append resolved, so nobody waits for it to go stale.
    expect(existsSync(join(dir, 'audit.lock'))).toBe(false);
    expect(JSON.parse(readFileSync(join(dir, HEAD_FILE), 'utf8'))).toMatchObject({ seq: 3 });
  });
});

describe('no secret reaches the log dir', () => {
  it('leaves no value from the secret corpus in any file, through both the audit and the operational log', async () => {
    const dir = tmp();
    const audit = new AuditLog(dir);
    const op = createLogger(dir, 'debug');
    for (const { text, context } of SECRET_CORPUS) {
      op.info(`tool call failed: ${text}`, { context, detail: text, nested: { args: [text] } });
      op.error(new Error(text));
      op.warn('refused', { reason: text, password: text });
      await audit.append(
        toolCallEvent({
          tool: 'create_agent',
          caller: text,
          args: { session: 's-1', role: text, initial_task: text, extra: { deep: text } },
          outcome: 'refused',
          ms: 1,
          reason: text,
        }),
      );
      await audit.append({ type: 'refusal', what: 'create_agent', reason: text, detail: { text } });
      await audit.append({ type: 'status_change', agent: 'Agent_1', to: 'exited', source: 'screen', screen: text });
    }
    op.info('end-of-test-marker');
    await audit.close();
    // winston's file transport writes asynchronously; wait for the marker to land.
    const opFile = join(dir, 'tabcrew.log');
    for (let i = 0; i < 200 && !(existsSync(opFile) && readFileSync(opFile, 'utf8').includes('end-of-test-marker')); i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
    op.close();

    const files = readdirSync(dir).filter((f) => statSync(join(dir, f)).isFile());
    expect(files).toEqual(expect.arrayContaining(['tabcrew.log', HEAD_FILE]));
    const everything = files.map((f) => readFileSync(join(dir, f), 'utf8')).join('\n');
    expect(everything).toContain('end-of-test-marker');
    expect(everything).toContain('[REDACTED:');
    // JSON escapes quotes, backslashes and newlines: look for the value as written there too.
    for (const { context, secrets } of SECRET_CORPUS) {
      for (const s of secrets) {
        expect(everything, context).not.toContain(s);
        expect(everything, context).not.toContain(JSON.stringify(s).slice(1, -1));
      }
    }
    expect(await verify(dir)).toMatchObject({ ok: true, records: SECRET_CORPUS.length * 3 });
  });
});
