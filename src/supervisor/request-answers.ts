import type { QuestionAnswer } from '../claude/request-kinds.js';
import { UserError } from './errors.js';
import type { PendingRequest } from './permissions.js';

/**
 * What answer_request's arguments mean for one pending request, by its kind: a permission
 * is allowed or denied, a question answered (an option by its label or its number as on
 * screen, or typed text; per question when there are several) or declined, a plan approved
 * or rejected with feedback. Every mismatch is refused with what to send instead.
 */

export type Choice = string | number;

export interface AnswerArgs {
  decision?: 'allow' | 'deny' | 'answer' | 'approve' | 'reject';
  /** A one-question request: the option's label or number (1 = the first); a list for a multi-select question. */
  choose?: Choice | Choice[];
  /** A one-question request: a typed answer (Claude Code's "Type something"). */
  text?: string;
  /** One per question, in order. */
  answers?: { choose?: Choice | Choice[]; text?: string }[];
  /** A deny's reason, a rejected plan's feedback, a declined question's reason: the agent reads it. */
  message?: string;
}

export type Outcome = 'allowed' | 'denied' | 'answered' | 'declined' | 'approved' | 'rejected';

export interface ResolvedAnswer {
  decision: 'allow' | 'deny';
  outcome: Outcome;
  reason?: string;
  answers?: QuestionAnswer[];
  /** A question's answers as the agent gets them, one per question (for the confirmation and the reply). */
  shown?: string[];
}

export function resolveAnswer(p: PendingRequest, a: AnswerArgs): ResolvedAnswer {
  const reason = a.message?.trim() || undefined;
  const answering = a.choose !== undefined || a.text !== undefined || a.answers !== undefined;
  const label = `request ${p.request_id} (${p.agent})`;
  if (p.kind === 'permission') {
    if (answering || (a.decision !== 'allow' && a.decision !== 'deny')) {
      throw new UserError(`${label} is a permission request for ${p.tool}: send decision "allow" or "deny" (message: why, for deny).`);
    }
    return { decision: a.decision, outcome: a.decision === 'allow' ? 'allowed' : 'denied', ...(reason ? { reason } : {}) };
  }
  if (p.kind === 'plan') {
    if (answering || a.decision === undefined || a.decision === 'answer') {
      throw new UserError(`${label} is a plan to approve: send decision "approve", or "reject" with message as the feedback the agent revises it by.`);
    }
    const approve = a.decision === 'approve' || a.decision === 'allow';
    return approve ? { decision: 'allow', outcome: 'approved' } : { decision: 'deny', outcome: 'rejected', ...(reason ? { reason } : {}) };
  }
  // A question.
  if (a.decision === 'deny' || a.decision === 'reject') {
    if (answering) throw new UserError(`${label}: a declined question takes no answer; send either the answer or decision "deny".`);
    return { decision: 'deny', outcome: 'declined', ...(reason ? { reason } : {}) };
  }
  if (a.decision === 'approve') throw new UserError(`${label} is a question, not a plan: answer it with choose or text.`);
  const questions = p.questions ?? [];
  let given: { choose?: Choice | Choice[]; text?: string }[];
  if (a.answers !== undefined) {
    if (a.choose !== undefined || a.text !== undefined) throw new UserError(`${label}: send either answers (one per question) or choose/text, not both.`);
    given = a.answers;
  } else if (a.choose !== undefined || a.text !== undefined) {
    if (questions.length > 1) {
      throw new UserError(`${label} asks ${questions.length} questions: send answers, one {choose or text} per question in order.`);
    }
    given = [{ choose: a.choose, text: a.text }];
  } else {
    throw new UserError(`${label} is a question: answer with choose (an option's label or number) or text (a typed answer).`);
  }
  if (given.length !== questions.length) {
    throw new UserError(`${label} asks ${questions.length} question(s) and ${given.length} answer(s) came: send one per question, in order.`);
  }
  const answers: QuestionAnswer[] = [];
  const shown: string[] = [];
  given.forEach((g, i) => {
    const q = questions[i]!;
    const where = questions.length > 1 ? ` (question ${i + 1}, "${q.question.slice(0, 80)}")` : '';
    const picks = g.choose === undefined ? [] : Array.isArray(g.choose) ? g.choose : [g.choose];
    if (picks.length > 1 && !q.multi_select) throw new UserError(`${label}${where} takes one option, ${picks.length} came.`);
    const options = picks.map((c) => optionIndex(q.options, c, `${label}${where}`));
    const text = g.text
      ?.replace(/[\p{Cc}]+/gu, ' ')
      .trim()
      .slice(0, 2000);
    if (!options.length && !text) throw new UserError(`${label}${where} has no answer: send choose or text.`);
    answers.push({ ...(options.length ? { options: [...new Set(options)] } : {}), ...(text ? { text } : {}) });
    shown.push(
      [...new Set(options)]
        .map((n) => q.options[n]!.label)
        .concat(text ? [text] : [])
        .join(', '),
    );
  });
  return { decision: 'allow', outcome: 'answered', answers, shown };
}

/** An option by its number as on screen (1 = the first) or its label (case and surrounding spaces aside). */
function optionIndex(options: readonly { label: string }[], c: Choice, label: string): number {
  const list = options.map((o, i) => `${i + 1}. ${o.label}`).join(', ');
  if (typeof c === 'number') {
    if (Number.isInteger(c) && c >= 1 && c <= options.length) return c - 1;
    throw new UserError(`${label}: there is no option ${c}; the options are ${list}.`);
  }
  const want = c.trim().toLowerCase();
  const i = options.findIndex((o) => o.label.trim().toLowerCase() === want);
  if (i < 0) throw new UserError(`${label}: no option is labelled "${c.slice(0, 80)}"; the options are ${list} (or send text for an answer of your own).`);
  return i;
}
