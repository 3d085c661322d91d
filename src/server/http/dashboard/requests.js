// The request panel's questions (AskUserQuestion) and plans (ExitPlanMode): what agents ask a
// person besides permissions (docs/requests.md). Shown from list_pending_requests, answered with
// answer_request. Question, option and plan text is only ever set as DOM text, never as HTML.

/** Statuses of an agent that waits on a person: the panel is read again when one starts or ends. */
export const WAITING_STATUSES = ['waiting_permission', 'waiting_answer', 'waiting_plan_approval'];

/**
 * answer_request's arguments for a question: `picks[i]` the chosen option numbers (0-based) of
 * question i, `texts[i]` its typed answer. Undefined while a question has no answer yet.
 */
export function questionAnswerArgs(request, picks, texts) {
  const questions = request.questions ?? [];
  const answers = questions.map((_, i) => {
    const choose = [...(picks[i] ?? [])].sort((a, b) => a - b).map((n) => n + 1);
    const text = (texts[i] ?? '').trim();
    if (!choose.length && !text) return undefined;
    return { ...(choose.length ? { choose: choose.length === 1 && !questions[i].multi_select ? choose[0] : choose } : {}), ...(text ? { text } : {}) };
  });
  if (!answers.length || answers.some((a) => a === undefined)) return undefined;
  // Tapping the option beside the request shown is the person's confirmation (what security level HIGH asks for).
  return { request_id: request.request_id, answers, confirm: request.request_id };
}

/** answer_request's arguments for a plan: approve (confirmed by the tap), or reject with the feedback typed. */
export function planAnswerArgs(request, approve, feedback) {
  if (approve) return { request_id: request.request_id, decision: 'approve', confirm: request.request_id };
  const message = (feedback ?? '').trim();
  return { request_id: request.request_id, decision: 'reject', ...(message ? { message } : {}) };
}

/**
 * The panel's entries for pending questions and plans (none when this tabcrew has no
 * list_pending_requests). `ui`: the page's el, tool, toast and ago, and refresh (reads the panel again).
 */
export async function questionAndPlanEntries(ui) {
  if (!ui.has('list_pending_requests') || !ui.has('answer_request')) return [];
  const { requests = [] } = await ui.tool('list_pending_requests', {});
  return requests.filter((r) => r.kind === 'question' || r.kind === 'plan').map((r) => (r.kind === 'question' ? questionEntry(r, ui) : planEntry(r, ui)));
}

async function send(ui, args, done) {
  try {
    await ui.tool('answer_request', args);
    ui.toast(done);
  } catch (e) {
    ui.toast(e.message, 'error');
  }
  ui.refresh();
}

function questionEntry(r, ui) {
  const { el } = ui;
  const questions = r.questions ?? [];
  const picks = questions.map(() => new Set());
  const texts = questions.map(() => '');
  // One question with one answer: a tap on an option answers it. Otherwise the taps select and Send answers.
  const oneTap = questions.length === 1 && !questions[0].multi_select;
  const submit = () => {
    const args = questionAnswerArgs(r, picks, texts);
    if (!args) return ui.toast('Answer every question first (an option or a typed answer).', 'error');
    void send(ui, args, `${r.agent}: answered`);
  };
  const blocks = questions.map((q, i) => {
    const options = q.options.map((o, n) =>
      el(
        'button',
        {
          class: 'option secondary',
          type: 'button',
          'data-option': n + 1,
          title: o.description ?? '',
          onclick: (ev) => {
            if (oneTap) {
              picks[i] = new Set([n]);
              return submit();
            }
            if (!q.multi_select) picks[i].clear();
            if (picks[i].has(n)) picks[i].delete(n);
            else picks[i].add(n);
            for (const b of ev.currentTarget.parentElement.children) b.classList.toggle('chosen', picks[i].has(Number(b.dataset.option) - 1));
          },
        },
        el('span', {}, `${n + 1}. ${o.label}`),
        o.description ? el('span', { class: 'muted small' }, o.description) : null,
      ),
    );
    const typed = el('input', { class: 'typed', placeholder: 'or type an answer', maxlength: 2000, oninput: (ev) => (texts[i] = ev.target.value) });
    return el(
      'div',
      { class: 'question' },
      q.header ? el('span', { class: 'tag' }, q.header) : null,
      el('p', {}, q.question),
      el('div', { class: 'options' }, ...options),
      el(
        'div',
        { class: 'row' },
        typed,
        oneTap ? el('button', { type: 'button', onclick: () => (texts[0].trim() ? submit() : ui.toast('Type an answer first.', 'error')) }, 'Answer') : null,
      ),
    );
  });
  return el(
    'div',
    { class: 'permission request-question', 'data-id': r.request_id, 'data-agent': r.agent },
    el('div', {}, el('strong', {}, r.agent), ' asks', el('span', { class: 'muted small' }, ` · ${ui.ago(r.since)}`)),
    ...blocks,
    el(
      'div',
      { class: 'row' },
      el('span', { class: 'spacer' }),
      el(
        'button',
        {
          class: 'secondary',
          type: 'button',
          onclick: () => void send(ui, { request_id: r.request_id, decision: 'deny', message: 'Declined from the tabcrew dashboard.' }, `${r.agent}: declined`),
        },
        'Decline',
      ),
      oneTap ? null : el('button', { type: 'button', onclick: submit }, 'Send answers'),
    ),
  );
}

function planEntry(r, ui) {
  const { el } = ui;
  const feedback = el('textarea', { class: 'feedback', rows: 2, maxlength: 2000, placeholder: 'What to change (sent with Reject)' });
  return el(
    'div',
    { class: 'permission request-plan', 'data-id': r.request_id, 'data-agent': r.agent },
    el('div', {}, el('strong', {}, r.agent), ' asks to approve its plan', el('span', { class: 'muted small' }, ` · ${ui.ago(r.since)}`)),
    // The plan as text: Markdown is shown as written, never rendered.
    el('pre', { class: 'plan' }, r.plan ?? r.input_summary ?? ''),
    feedback,
    el(
      'div',
      { class: 'row' },
      el('span', { class: 'spacer' }),
      el(
        'button',
        { class: 'secondary', type: 'button', onclick: () => void send(ui, planAnswerArgs(r, false, feedback.value), `${r.agent}: plan rejected`) },
        'Reject',
      ),
      el('button', { type: 'button', onclick: () => void send(ui, planAnswerArgs(r, true), `${r.agent}: plan approved`) }, 'Approve'),
    ),
  );
}
