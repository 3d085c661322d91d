import { readFile } from 'node:fs/promises';
import { promptFingerprint, type HookRecord } from '../claude/hook-record.js';
import { classifyScreen } from '../claude/screen.js';
import { findTurn, type FoundTurn } from '../claude/turn.js';
import type { AgentWatch } from '../claude/watch.js';
import type { TabHandle, TerminalBackend } from '../terminals/backend.js';
import { sleep } from './timing.js';

/**
 * A turn a delivery started: its end in the hook spool, its reply in the transcript, and the
 * one Escape that interrupts it. Delivery (wait_for_reply), coordination runs and the keeper's
 * budget interrupt all read turns here.
 */

/**
 * Claude Code may append a turn's last transcript lines after its Stop hook (by tens of ms,
 * longer on a loaded machine): how long a reply is waited for once the turn has ended.
 */
export const REPLY_WAIT_MS = 5000;

/** The hook records that end a turn: it replied, it failed, or Claude Code ended. */
export function endsTurn(r: HookRecord): boolean {
  return r.event === 'Stop' || r.event === 'StopFailure' || r.event === 'SessionEnd';
}

/**
 * The records that end the turn `prompt` started. Each hook is a process of its own, so a
 * busy machine can append the previous turn's Stop after this prompt's record: a hook that
 * ran (its `ts`) before the prompt's did ends an earlier turn.
 */
export function endsTurnOf(prompt: Pick<HookRecord, 'ts'>): (r: HookRecord) => boolean {
  return (r) => endsTurn(r) && !(r.ts < prompt.ts);
}

/**
 * Whether `reply`, read from the transcript, is the turn's last one. The Stop hook runs
 * before Claude Code has flushed the turn's last transcript lines (by tens of ms, longer under
 * load), so until then the transcript's latest text can be a step's ("Trying.") rather than
 * the end's ("Finished."). A Stop record that carries the fingerprint of Claude Code's last
 * assistant text settles it; without one, the transcript must read as finished (no tool call
 * or tool result after the text).
 */
export function replySettled(reply: string, final: boolean, end: Pick<HookRecord, 'reply_fp'> | undefined): boolean {
  if (!end?.reply_fp) return final;
  // Claude Code reports the last text block; lastReply joins an API message's text blocks with blank lines.
  if (promptFingerprint(reply) === end.reply_fp) return true;
  for (let at = reply.indexOf('\n\n'); at >= 0; at = reply.indexOf('\n\n', at + 1)) {
    if (promptFingerprint(reply.slice(at)) === end.reply_fp) return true;
  }
  return false;
}

/** Polls the agent's hook spool from record `from` until `pred` matches one, or `timeoutMs` passes. */
export async function waitForRecord(
  watch: AgentWatch,
  from: number,
  pred: (r: HookRecord) => boolean,
  timeoutMs: number,
  tick?: () => void,
): Promise<HookRecord | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await watch.refresh();
    const hit = watch.since(from).find(pred);
    if (hit) return hit;
    if (Date.now() >= deadline) return undefined;
    tick?.();
    await watch.nextChange(100);
  }
}

/**
 * Waits, bounded by REPLY_WAIT_MS, until the transcript's latest turn is the one this prompt
 * started and has its last reply (replySettled against `end`, the record that ended the turn).
 * Past the bound a reply that reads as finished is taken even if its fingerprint differs.
 */
export async function readReply(watch: AgentWatch, fingerprint: string, end?: HookRecord): Promise<{ reply?: string; why?: string }> {
  const deadline = Date.now() + REPLY_WAIT_MS;
  for (;;) {
    const latest = await watch.readTranscript();
    const ours = latest.lastPrompt !== undefined && promptFingerprint(latest.lastPrompt) === fingerprint;
    if (ours && latest.lastReply !== undefined && replySettled(latest.lastReply, latest.replyFinal, end)) return { reply: latest.lastReply };
    if (Date.now() >= deadline) {
      if (ours && latest.lastReply !== undefined && latest.replyFinal) return { reply: latest.lastReply };
      const why =
        latest.lastPrompt === undefined
          ? `no prompt in ${latest.path}`
          : !ours
            ? `its latest prompt is another one (${JSON.stringify(latest.lastPrompt.slice(0, 80))})`
            : latest.lastReply === undefined
              ? 'the turn has no text reply'
              : 'the transcript does not show the turn finished';
      return { why };
    }
    await sleep(100);
  }
}

/**
 * The turn a delivery id started, as far as the hook records show it: its UserPromptSubmit
 * record (undefined until Claude Code reported the prompt) and the record that ended it.
 */
export function deliveredTurn(records: readonly HookRecord[], deliveryId: string | undefined): { prompt?: HookRecord; end?: HookRecord } {
  const at = records.findIndex((r) => r.event === 'UserPromptSubmit' && r.delivery_id === deliveryId);
  if (at < 0) return {};
  return { prompt: records[at], end: records.slice(at + 1).find(endsTurnOf(records[at])) };
}

/** The turn of this prompt in the agent's transcript, found by fingerprint (its reply and tokens). */
export async function turnOf(watch: AgentWatch, fingerprint: string | undefined): Promise<FoundTurn | undefined> {
  const text = await readFile(watch.transcriptPath(), 'utf8').catch(() => '');
  return fingerprint ? findTurn(text, fingerprint) : undefined;
}

/** What one look at the hook spool (and, once the turn ended, the transcript) shows of the turn a delivery started. */
export type TurnLook =
  /** Claude Code has not reported the prompt (yet). */
  | { kind: 'unsent' }
  | { kind: 'running' }
  /** limitedAt: the StopFailure's time when an API rate or usage limit ended the turn (supervisor/limits.ts). */
  | { kind: 'failed'; error: string; limitedAt?: number }
  /**
   * Stopped: the turn as the transcript has it so far. Its reply is left out until it is the
   * turn's last one (replySettled; it may follow the Stop hook by moments), or once the Stop is
   * REPLY_WAIT_MS old and the transcript reads as finished.
   */
  | { kind: 'ended'; turn?: FoundTurn };

export async function lookAtTurn(watch: AgentWatch, deliveryId: string | undefined, agent: string, now = Date.now()): Promise<TurnLook> {
  await watch.refresh();
  const { prompt, end } = deliveredTurn(watch.since(0), deliveryId);
  if (!prompt) return { kind: 'unsent' };
  if (!end) return { kind: 'running' };
  if (end.event === 'StopFailure')
    return {
      kind: 'failed',
      error: `${agent}'s turn failed (${end.error ?? 'no reason given'}).`,
      ...(end.error === 'rate_limit' ? { limitedAt: end.ts } : {}),
    };
  if (end.event === 'SessionEnd') return { kind: 'failed', error: `${agent}'s Claude Code ended before it replied.` };
  const turn = await turnOf(watch, prompt.prompt_fp);
  if (turn?.reply === undefined) return { kind: 'ended', turn };
  const settled = replySettled(turn.reply, turn.final, end) || (turn.final && now - end.ts > REPLY_WAIT_MS);
  return { kind: 'ended', turn: settled ? turn : { ...turn, reply: undefined } };
}

/**
 * One Escape, and only on a running turn: in a dialog Escape would answer it. `beforeKey`
 * runs between the look and the key (the keeper marks the agent first, so it presses once).
 * True when the key was sent.
 */
export async function escapeBusyTurn(
  backend: Pick<TerminalBackend, 'readScreen' | 'sendKeys'>,
  tab: TabHandle,
  beforeKey?: () => Promise<unknown>,
): Promise<boolean> {
  const screen = await backend.readScreen(tab, 60).catch(() => '');
  if (classifyScreen(screen) !== 'busy') return false;
  await beforeKey?.();
  await backend.sendKeys(tab, ['Escape']);
  return true;
}
