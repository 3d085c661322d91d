import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promptFingerprint, type HookRecord } from '../../src/claude/hook-record.js';
import { AgentWatch } from '../../src/claude/watch.js';
import { deliveredTurn, lookAtTurn, readReply, replySettled } from '../../src/supervisor/turns.js';

/*
 * The reply race: Claude Code runs the Stop hook before it has flushed the turn's last
 * transcript lines, so a reply read at the Stop can be the text written before the turn's
 * last tool call. Records and transcript lines are written here in that racy order.
 */

const SID = '11111111-2222-3333-4444-555555555555';
const PROMPT = '[ADDER+ from supervisor · delivery d-abc123] try the thing';
let dir: string;
let spool: string;
let transcript: string;

const line = (o: object): string => `${JSON.stringify(o)}\n`;
const user = (content: unknown) => line({ type: 'user', message: { role: 'user', content } });
const assistant = (id: string, content: unknown[]) => line({ type: 'assistant', message: { id, role: 'assistant', model: 'claude-x', content } });
const record = (r: Partial<HookRecord> & { event: string }): string => line({ ts: Date.now(), session_id: SID, transcript_path: transcript, ...r });

/** The transcript up to the tool result: the turn's last text is flushed only later. */
function writeTurnUpToToolResult(): void {
  writeFileSync(
    transcript,
    user(PROMPT) +
      assistant('msg_1', [{ type: 'text', text: 'Trying.' }]) +
      assistant('msg_1', [{ type: 'tool_use', id: 'tu_1', name: 'Bash', input: { command: 'true' } }]) +
      user([{ type: 'tool_result', tool_use_id: 'tu_1', content: 'ok' }]),
  );
}
const flushLastText = (): void => appendFileSync(transcript, assistant('msg_2', [{ type: 'text', text: 'Finished.' }]));

function watch(): AgentWatch {
  return new AgentWatch(SID, spool, dir, join(dir, 'claude'));
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tabcrew-turns-'));
  spool = join(dir, 'events.jsonl');
  transcript = join(dir, 'transcript.jsonl');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('a turn reply read at its Stop', () => {
  it('is the turn’s last text, not the text before its last tool call, when the Stop carries the reply fingerprint', async () => {
    writeFileSync(spool, record({ event: 'UserPromptSubmit', delivery_id: 'd-abc123', prompt_fp: promptFingerprint(PROMPT) }));
    appendFileSync(spool, record({ event: 'Stop', reply_fp: promptFingerprint('Finished.') }));
    writeTurnUpToToolResult();
    const w = watch();
    await w.refresh();
    const end = w.since(0).find((r) => r.event === 'Stop');
    const flushed = new Promise<void>((r) => setTimeout(() => r(flushLastText()), 300));
    const { reply } = await readReply(w, promptFingerprint(PROMPT), end);
    await flushed;
    expect(reply).toBe('Finished.');
  });

  it('waits for the transcript to read as finished when the Stop has no fingerprint (an older hook)', async () => {
    writeFileSync(spool, record({ event: 'UserPromptSubmit', delivery_id: 'd-abc123', prompt_fp: promptFingerprint(PROMPT) }));
    appendFileSync(spool, record({ event: 'Stop' }));
    writeTurnUpToToolResult();
    const w = watch();
    await w.refresh();
    const flushed = new Promise<void>((r) => setTimeout(() => r(flushLastText()), 300));
    const { reply } = await readReply(w, promptFingerprint(PROMPT), w.since(0).at(-1));
    await flushed;
    expect(reply).toBe('Finished.');
  });

  it('does not count a text line whose tool call is not flushed yet as the end, without a fingerprint', () => {
    expect(replySettled('Trying.', false, { reply_fp: undefined })).toBe(false);
    expect(replySettled('Trying.', true, { reply_fp: promptFingerprint('Finished.') })).toBe(false);
    expect(replySettled('Finished.', false, { reply_fp: promptFingerprint('Finished.') })).toBe(true);
    // Claude Code reports the last text block; the transcript's reply joins the message's blocks.
    expect(replySettled('Here it is.\n\nFinished.', true, { reply_fp: promptFingerprint('Finished.') })).toBe(true);
  });

  it('coordination sees no reply until the turn’s last text is in the transcript', async () => {
    writeFileSync(spool, record({ event: 'UserPromptSubmit', delivery_id: 'd-abc123', prompt_fp: promptFingerprint(PROMPT) }));
    appendFileSync(spool, record({ event: 'Stop', reply_fp: promptFingerprint('Finished.') }));
    writeTurnUpToToolResult();
    const w = watch();
    const early = await lookAtTurn(w, 'd-abc123', 'Agent_1');
    expect(early.kind).toBe('ended');
    expect(early.kind === 'ended' && early.turn?.reply).toBeUndefined();
    flushLastText();
    const late = await lookAtTurn(w, 'd-abc123', 'Agent_1');
    expect(late.kind === 'ended' && late.turn?.reply).toBe('Finished.');
  });
});

describe('the record that ends a delivered turn', () => {
  it('is not the previous turn’s Stop appended late by its slower hook process', () => {
    const t = Date.now();
    const records: HookRecord[] = [
      { ts: t, event: 'UserPromptSubmit', delivery_id: 'd-abc123', session_id: SID },
      { ts: t - 40, event: 'Stop', session_id: SID },
      { ts: t + 900, event: 'Stop', session_id: SID },
    ];
    expect(deliveredTurn(records, 'd-abc123').end?.ts).toBe(t + 900);
  });
});
