#!/usr/bin/env node
/**
 * Claude Code runs this for each hook event of a tabcrew agent (see claude/settings.ts).
 * It appends one record to the agent's spool file, named by TABCREW_EVENTS, so a
 * supervisor started later still sees what happened while it was down.
 *
 * It must never disturb the agent: it prints nothing (a UserPromptSubmit hook's stdout
 * is added to the conversation), always exits 0, and imports nothing heavy.
 */
import { appendFileSync } from 'node:fs';
import { toHookRecord } from './claude/hook-record.js';

const MAX_INPUT = 4 * 1024 * 1024;

async function main(): Promise<void> {
  const spool = process.env.TABCREW_EVENTS;
  if (!spool) return;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length;
    if (size > MAX_INPUT) break;
    chunks.push(chunk as Buffer);
  }
  const input = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
  // One write(2) with O_APPEND: records from concurrent hooks never interleave.
  appendFileSync(spool, JSON.stringify(toHookRecord(input, Date.now(), process.env.TABCREW_LAUNCH)) + '\n', { mode: 0o600 });
}

main().then(
  () => process.exit(0),
  () => process.exit(0),
);
