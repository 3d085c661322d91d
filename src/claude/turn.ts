import { promptFingerprint } from './hook-record.js';
import { isUserPrompt, lastReply, promptText, turnReadsFinished, usageTotals, type UsageTotals } from './transcript.js';

/**
 * One turn of a transcript found by its prompt's fingerprint (the hook's prompt_fp), not
 * by position: other messages may reach the agent before or after it, and a tabcrew that
 * restarted knows the fingerprint but not where the turn sits.
 */
export interface FoundTurn {
  reply?: string;
  /** Whether the turn reads as finished in the transcript (turnReadsFinished): `reply` is its last one, not a step's. */
  final: boolean;
  /** Tokens of the API calls of this turn only. */
  tokens: UsageTotals;
}

export function findTurn(transcript: string, fingerprint: string): FoundTurn | undefined {
  const lines: object[] = [];
  for (const raw of transcript.split('\n')) {
    const s = raw.trim();
    if (!s.startsWith('{')) continue;
    try {
      lines.push(JSON.parse(s) as object);
    } catch {
      // the last line may be half written
    }
  }
  let start = -1;
  for (let i = lines.length - 1; i >= 0; i--) {
    if (isUserPrompt(lines[i]) && promptFingerprint(promptText(lines[i] as never)) === fingerprint) {
      start = i;
      break;
    }
  }
  if (start < 0) return undefined;
  let end = lines.length;
  for (let i = start + 1; i < lines.length; i++) {
    if (isUserPrompt(lines[i])) {
      end = i;
      break;
    }
  }
  const turn = lines.slice(start, end);
  return { reply: lastReply(turn), final: turnReadsFinished(turn), tokens: usageTotals(turn) };
}
