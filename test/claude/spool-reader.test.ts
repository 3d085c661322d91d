import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SpoolReader } from '../../src/claude/events.js';
import { toHookRecord } from '../../src/claude/hook-record.js';

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
});
