import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { SpoolReader } from '../../src/claude/events.js';
import { toHookRecord } from '../../src/claude/hook-record.js';

/** Calls that go through libuv's thread pool: the spool reader's stats and opens, counted. */
const pool = vi.hoisted(() => ({ stat: 0, open: 0 }));
vi.mock('node:fs', async (original) => {
  const fs = await original<typeof import('node:fs')>();
  return { ...fs, stat: (...a: Parameters<typeof fs.stat>) => (pool.stat++, fs.stat(...a)) };
});
vi.mock('node:fs/promises', async (original) => {
  const fsp = await original<typeof import('node:fs/promises')>();
  return { ...fsp, open: (...a: Parameters<typeof fsp.open>) => (pool.open++, fsp.open(...a)) };
});

const base = mkdtempSync(join(tmpdir(), 'tabcrew-spool-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

const line = (event: string, n: number): string => JSON.stringify(toHookRecord({ hook_event_name: event, session_id: 's', prompt: `p${n}` })) + '\n';

describe('the spool reader', () => {
  it('refreshes asked at once (a status and a delivery looking together) keep each record once', async () => {
    const file = join(base, 'at-once.jsonl');
    writeFileSync(file, line('UserPromptSubmit', 1) + line('Stop', 2));
    const spool = new SpoolReader(file);
    const fresh = await Promise.all([spool.refresh(), spool.refresh(), spool.refresh()]);
    expect(fresh.flat().map((r) => r.event)).toEqual(['UserPromptSubmit', 'Stop']);
    expect(spool.records.map((r) => r.event)).toEqual(['UserPromptSubmit', 'Stop']);
    appendFileSync(file, line('UserPromptSubmit', 3));
    await Promise.all([spool.refresh(), spool.refresh()]);
    expect(spool.records).toHaveLength(3);
  });

  it('without keep, hands each refresh its new records and holds none; a replaced spool is read from its start', async () => {
    const file = join(base, 'no-keep.jsonl');
    writeFileSync(file, line('UserPromptSubmit', 1) + line('Stop', 2));
    const spool = new SpoolReader(file, { keep: false });
    expect((await spool.refresh()).map((r) => r.event)).toEqual(['UserPromptSubmit', 'Stop']);
    expect(await spool.refresh()).toEqual([]);
    expect(spool.records).toEqual([]);
    writeFileSync(file, line('SessionStart', 3));
    expect((await spool.refresh()).map((r) => r.event)).toEqual(['SessionStart']);
  });

  it('a spool not there yet is no records, and is read once it appears', async () => {
    const file = join(base, 'later.jsonl');
    const spool = new SpoolReader(file);
    expect(await spool.refresh()).toEqual([]);
    writeFileSync(file, line('SessionStart', 1));
    expect((await spool.refresh()).map((r) => r.event)).toEqual(['SessionStart']);
  });

  it('reads what the hooks append without a round trip through the thread pool (a fan-out looks at 64 spools at once)', async () => {
    const file = join(base, 'sync.jsonl');
    writeFileSync(file, line('UserPromptSubmit', 1));
    const spool = new SpoolReader(file);
    const before = { ...pool };
    expect((await spool.refresh()).map((r) => r.event)).toEqual(['UserPromptSubmit']);
    expect(await spool.refresh()).toEqual([]);
    appendFileSync(file, line('Stop', 2).slice(0, 20));
    expect(await spool.refresh()).toEqual([]);
    appendFileSync(file, line('Stop', 2).slice(20));
    expect((await spool.refresh()).map((r) => r.event)).toEqual(['Stop']);
    expect(pool).toEqual(before);
  });

  it('reads a large backlog (a long-lived agent’s spool read the first time) through the thread pool, record for record', async () => {
    const file = join(base, 'backlog.jsonl');
    const n = 3000;
    writeFileSync(file, Array.from({ length: n }, (_, i) => line('PostToolUse', i)).join(''));
    const spool = new SpoolReader(file);
    const opens = pool.open;
    expect(await spool.refresh()).toHaveLength(n);
    expect(pool.open).toBe(opens + 1);
    appendFileSync(file, line('Stop', n));
    expect((await spool.refresh()).map((r) => r.event)).toEqual(['Stop']);
    expect(spool.records).toHaveLength(n + 1);
  });
});
