import { redactKeepingCode } from '../audit/redact.js';

/**
 * What a PermissionRequest is about, beyond "may this tool run": Claude Code 2.1.332 asks
 * its questions (AskUserQuestion) and its plan approvals (ExitPlanMode) through the same
 * dialog-and-hook pair as a permission (docs/claude-code-facts.md), so tabcrew holds them
 * the same way and only the shape of the request and of the answer differ:
 *
 * - question: the hook answers `allow` with `updatedInput` = the call's input plus
 *   `answers` {question text → chosen label(s) joined by ", ", or the typed text}.
 * - plan: `allow` with `updatedInput` = the call's input as it came (`{plan, planFilePath}`;
 *   a bare allow is ignored by Claude Code), or `deny` whose message is the feedback.
 *
 * Imported by the hook: node built-ins and the redaction rules only.
 */

export const REQUEST_KINDS = ['permission', 'question', 'plan'] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number];

export function requestKindOf(tool: string): RequestKind {
  if (tool === 'AskUserQuestion') return 'question';
  if (tool === 'ExitPlanMode') return 'plan';
  return 'permission';
}

/** One question as the person sees it: redacted and cut, like every summary shown for approval. */
export interface RequestQuestion {
  question: string;
  header?: string;
  options: { label: string; description?: string }[];
  multi_select: boolean;
}

/** Claude Code allows 1–4 questions of 2–4 options; a little room beyond that, never unbounded. */
const MAX_QUESTIONS = 8;
const MAX_OPTIONS = 10;
/** A plan is read whole by the person who approves it; past this it is cut, saying so. */
export const PLAN_CHARS = 20_000;

function clean(v: unknown, max: number): string {
  const s = typeof v === 'string' ? v : '';
  const flat = redactKeepingCode(s)
    .replace(/[\p{Cc}]/gu, ' ')
    .trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/** The questions of an AskUserQuestion call's input, as shown to the person. */
export function questionsOf(input: unknown): RequestQuestion[] {
  const qs = (input as { questions?: unknown } | undefined)?.questions;
  if (!Array.isArray(qs)) return [];
  return qs.slice(0, MAX_QUESTIONS).map((q: Record<string, unknown> | undefined) => {
    const opts = Array.isArray(q?.options) ? (q.options as Record<string, unknown>[]) : [];
    const header = clean(q?.header, 60);
    return {
      question: clean(q?.question, 1000),
      ...(header ? { header } : {}),
      options: opts.slice(0, MAX_OPTIONS).map((o) => {
        const description = clean(o?.description, 500);
        return { label: clean(o?.label, 200), ...(description ? { description } : {}) };
      }),
      // multiSelect as Claude Code sends it; multi_select as the hook's file has it (read again by the supervisor).
      multi_select: q?.multiSelect === true || q?.multi_select === true,
    };
  });
}

/** The plan text of an ExitPlanMode request: literal secrets redacted, line breaks kept, cut past PLAN_CHARS. */
export function planOf(input: unknown): string {
  const plan = (input as { plan?: unknown } | undefined)?.plan;
  if (typeof plan !== 'string') return '';
  const text = redactKeepingCode(plan).replace(/[^\P{Cc}\n\t]/gu, '\uFFFD');
  // A plan already cut keeps its note when read again (by the supervisor, from the hook's file).
  return text.length > PLAN_CHARS + 64 ? `${text.slice(0, PLAN_CHARS)}\n… [${text.length - PLAN_CHARS} more characters not shown]` : text;
}

/** One question's answer as the supervisor writes it: chosen options by position (0-based), or typed text. */
export interface QuestionAnswer {
  options?: number[];
  text?: string;
}

/**
 * The `updatedInput` that answers a held call, from the call's own input (which only the
 * hook holds: it is never written to a file): a question's answers keyed by the question
 * text as Claude Code sent it (chosen labels taken from that input, joined by ", "), or a
 * plan passed back as it came.
 */
export function answeredInput(kind: RequestKind, toolInput: unknown, answers?: readonly QuestionAnswer[]): Record<string, unknown> | undefined {
  const input = toolInput && typeof toolInput === 'object' ? (toolInput as Record<string, unknown>) : {};
  if (kind === 'plan') return input;
  if (kind !== 'question' || !answers) return undefined;
  const qs = Array.isArray(input.questions) ? (input.questions as { question?: unknown; options?: { label?: unknown }[] }[]) : [];
  const keyed: Record<string, string> = {};
  qs.forEach((q, i) => {
    const a = answers[i];
    if (typeof q?.question !== 'string' || !a) return;
    const labels = (a.options ?? []).map((n) => q.options?.[n]?.label).filter((l): l is string => typeof l === 'string');
    const text = [...labels, ...(a.text ? [a.text] : [])].join(', ');
    if (text) keyed[q.question] = text;
  });
  return { ...input, answers: keyed };
}
