import { tail, verify } from '../audit/audit-log.js';
import type { Config } from '../config.js';
import { printJson, printTable } from './table.js';

/** `tabcrew audit verify`: exits 1 naming the first edited, deleted, reordered or truncated record. */
export async function auditVerifyCommand(config: Config, opts: { json: boolean }): Promise<number> {
  const r = await verify(config.logDir);
  if (opts.json) {
    printJson(r);
    return r.ok ? 0 : 1;
  }
  if (!r.ok) {
    const bad = r.firstBad!;
    process.stderr.write(`${bad.file}:${bad.line}: ${bad.reason}\n`);
    return 1;
  }
  process.stdout.write(`audit log intact: ${r.records} records in ${r.files} files`);
  process.stdout.write(r.head ? `; head #${r.head.seq} ${r.head.hash}\n` : '\n');
  for (const t of r.repaired) process.stdout.write(`note: ${t.file}:${t.line} was a torn line left by a crash, recorded as repaired\n`);
  if (!r.anchored) process.stdout.write('warning: no head file: truncation at a record boundary cannot be detected (see docs/audit.md)\n');
  return 0;
}

/** `tabcrew audit tail`: the latest records, oldest first. */
export async function auditTailCommand(
  config: Config,
  opts: { agent?: string; session?: string; limit: number; json: boolean },
): Promise<number> {
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
