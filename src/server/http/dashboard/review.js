// Reviewing the crew's work from the page (docs/review-and-merge.md, docs/dashboard.md): files
// changed and +/- on each card, a Changes tab with the agent's diff (diff-view.js), a comment
// on a line sent to the agent, the Merge button, and the agents ready for review. Everything
// is a tool call (get_agent_changes, send_message_to_agent, merge_agent_work); text from
// agents and from git is only ever set as text.
import { commentMessage, renderDiff } from './diff-view.js';

/**
 * An agent's counts are read again this often while nothing happens to it: its files change in
 * its turns (whose ends are read at once) or by a merge; each read is a tool call on record in
 * the audit log, so an open page does not read a crew of 32 every minute.
 */
const REFRESH_MS = 5 * 60_000;
/** …and at most this often when it finishes turns quickly one after another. */
const MIN_GAP_MS = 5_000;
/** After a refusal (no git repository at the root, say) it is asked again this much later. */
const ERROR_BACKOFF_MS = 10 * 60_000;
/** A turn is under way in these: when an agent leaves them it has finished a turn. */
const WORKING = new Set(['busy', 'starting', 'waiting_permission']);

const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Files, lines added and removed of a get_agent_changes answer. */
export function countsOf(changes) {
  const files = changes.files ?? [];
  return {
    files: files.length,
    added: files.reduce((n, f) => n + (f.added ?? 0), 0),
    removed: files.reduce((n, f) => n + (f.removed ?? 0), 0),
    ahead: changes.commits_ahead ?? 0,
  };
}

/**
 * Mounts the review parts into the page. `tool` runs a tool as the page does, `el` builds
 * DOM, `openAgent(name)` opens an agent's panel; the rest are the page's own helpers.
 */
export function initReview({ tool, el, toast, confirmByName, openAgent }) {
  /** agent → { at, status, finished, changes?, error? } */
  const known = new Map();
  const due = new Set();
  let sessions = [];
  let selected = null;
  let tab = 'agent';
  /** The agent and patch the Changes tab shows: read again unchanged, it is not drawn again (a comment being typed stays). */
  let shown = { agent: null, patch: null };
  let pumping = false;

  // ---- the Changes tab and the ready list, made once ----
  const panel = document.getElementById('agent-panel');
  const tabs = el(
    'div',
    { class: 'review-tabs', role: 'tablist' },
    el('button', { type: 'button', class: 'review-tab', 'data-tab': 'agent', onclick: () => showTab('agent') }, 'Terminal'),
    el('button', { type: 'button', class: 'review-tab', 'data-tab': 'changes', onclick: () => showTab('changes') }, 'Changes'),
  );
  const summary = el('div', { class: 'review-summary muted' });
  const mergeButton = el('button', { type: 'button', class: 'danger', id: 'review-merge', onclick: () => void merge() }, 'Merge…');
  const outcome = el('div', { id: 'review-merge-result', hidden: true });
  const diff = el('div', { id: 'review-diff' });
  const changesView = el(
    'section',
    { id: 'review-changes', hidden: true },
    el(
      'div',
      { class: 'row' },
      summary,
      el('span', { class: 'spacer' }),
      el('button', { type: 'button', class: 'secondary', onclick: () => void loadChanges() }, 'Refresh'),
      mergeButton,
    ),
    outcome,
    el('p', { class: 'muted small' }, 'Click or tap a line to send the agent a comment on it.'),
    diff,
  );
  document.getElementById('agent-meta').after(tabs, changesView);
  const readyList = el('div', { id: 'review-ready-list' }, el('p', { class: 'muted' }, 'No agent has unmerged commits.'));
  document.getElementById('side').prepend(el('section', { class: 'panel', id: 'review-ready' }, el('h2', {}, 'Ready for review'), readyList));
  showTab('agent');
  // The feed sends a picture only when something changed: a quiet crew is looked at again too.
  setInterval(() => update(sessions), MIN_GAP_MS);

  function showTab(which, load = true) {
    tab = which;
    panel.classList.toggle('review-on', which === 'changes');
    changesView.hidden = which !== 'changes';
    tabs.querySelectorAll('.review-tab').forEach((b) => b.classList.toggle('active', b.dataset.tab === which));
    if (which === 'changes' && load) void loadChanges();
  }

  // ---- counts on the cards, read at a modest rate ----

  /** Called with every picture of the crew: decides whose counts to read again. */
  function update(list) {
    sessions = list;
    const now = Date.now();
    const names = new Set();
    for (const a of list.flatMap((s) => s.agents ?? [])) {
      names.add(a.agent);
      const k = known.get(a.agent) ?? { at: 0, status: a.status, finished: true };
      known.set(a.agent, k);
      // A turn ended: read again soon (kept until read, so a quick second turn is not lost).
      if (WORKING.has(k.status) && !WORKING.has(a.status)) k.finished = true;
      k.status = a.status;
      const wait = k.error ? ERROR_BACKOFF_MS : k.finished ? MIN_GAP_MS : REFRESH_MS;
      if (now - k.at >= wait) due.add(a.agent);
    }
    for (const name of known.keys()) if (!names.has(name)) known.delete(name);
    renderReady();
    void pump();
  }

  /** One read at a time, so a crew of 32 never sends 32 at once. */
  async function pump() {
    if (pumping) return;
    pumping = true;
    try {
      for (const name of due) {
        due.delete(name);
        const k = known.get(name);
        if (!k) continue;
        k.at = Date.now();
        k.finished = false;
        try {
          k.changes = await tool('get_agent_changes', { agent: name });
          delete k.error;
        } catch (e) {
          k.error = e.message;
        }
        showCounts(name);
        renderReady();
      }
    } finally {
      pumping = false;
    }
  }

  function countsText(name) {
    const k = known.get(name);
    if (!k?.changes) return '';
    const c = countsOf(k.changes);
    return [c.files ? `${plural(c.files, 'file')} +${c.added} −${c.removed}` : 'no changes', c.ahead ? plural(c.ahead, 'commit') : null]
      .filter(Boolean)
      .join(' · ');
  }

  function showCounts(name) {
    for (const e of document.querySelectorAll('.review-stat')) if (e.dataset.agent === name) e.textContent = countsText(name);
  }

  /** What a card shows of the agent's changes (filled in when they are read). */
  function card(a) {
    return el(
      'div',
      { class: 'review-stat small', 'data-agent': a.agent, title: 'files changed, lines added and removed (get_agent_changes)' },
      countsText(a.agent),
    );
  }

  // ---- ready for review: finished a turn with unmerged commits ----

  function renderReady() {
    const ready = sessions.flatMap((s) =>
      (s.agents ?? []).filter((a) => !WORKING.has(a.status) && (known.get(a.agent)?.changes?.commits_ahead ?? 0) > 0).map((a) => ({ a, s })),
    );
    if (!ready.length) return readyList.replaceChildren(el('p', { class: 'muted' }, 'No agent has unmerged commits.'));
    readyList.replaceChildren(
      ...ready.map(({ a, s }) =>
        el(
          'button',
          {
            type: 'button',
            class: 'review-ready-item',
            'data-agent': a.agent,
            onclick: () => {
              showTab('changes', false);
              openAgent(a.agent);
            },
          },
          el('strong', {}, a.agent),
          el('span', { class: 'muted small' }, ` ${s.name} · ${a.status.replace('_', ' ')}`),
          el('div', { class: 'small' }, countsText(a.agent)),
        ),
      ),
    );
  }

  // ---- one agent's changes ----

  /** The agent panel now shows `name` (null: closed). */
  function select(name) {
    selected = name;
    outcome.hidden = true;
    outcome.replaceChildren();
    diff.replaceChildren();
    shown = { agent: null, patch: null };
    summary.textContent = '';
    if (name && tab === 'changes') void loadChanges();
  }

  async function loadChanges() {
    const agent = selected;
    if (!agent) return;
    // Read again, the tab keeps what it shows until the answer is there.
    if (!summary.textContent) summary.textContent = 'Reading the changes…';
    try {
      const c = await tool('get_agent_changes', { agent, patch: true });
      if (selected !== agent) return;
      const k = known.get(agent);
      if (k) Object.assign(k, { changes: c, at: Date.now() });
      showCounts(agent);
      renderReady();
      const counts = countsOf(c);
      summary.textContent =
        c.isolation === 'worktree'
          ? `${c.branch} → ${c.base_branch ?? 'no base branch'} · ${plural(c.commits_ahead ?? 0, 'commit')} ahead, ${c.commits_behind ?? 0} behind · ${plural(counts.files, 'file')} +${counts.added} −${counts.removed}${c.uncommitted.length ? ` · ${c.uncommitted.length} uncommitted` : ''}`
          : `shares the session root: ${plural(counts.files, 'file')} its edits wrote (from its hooks)`;
      mergeButton.hidden = c.isolation !== 'worktree';
      if (shown.agent === agent && shown.patch === (c.patch ?? '')) return;
      shown = { agent, patch: c.patch ?? '' };
      if (!c.patch) return diff.replaceChildren(el('p', { class: 'muted' }, 'No changes.'));
      renderDiff(diff, c.patch, (line) => openComment(agent, line));
      if (c.truncated)
        diff.prepend(el('p', { class: 'warn' }, 'The diff below is cut short: it is longer than the page reads at once (get_agent_changes max_bytes).'));
    } catch (e) {
      if (selected !== agent) return;
      summary.textContent = '';
      mergeButton.hidden = true;
      shown = { agent: null, patch: null };
      diff.replaceChildren(el('p', { class: 'error' }, e.message));
    }
  }

  /** A comment box under the line clicked; one at a time. */
  function openComment(agent, line) {
    diff.querySelectorAll('.review-comment-row').forEach((r) => r.remove());
    const text = el('textarea', { rows: 3, maxlength: 20000, placeholder: `Comment for ${agent}`, required: true });
    const send = el('button', { type: 'submit' }, 'Send');
    const form = el(
      'form',
      { class: 'review-comment' },
      el('div', { class: 'small' }, 'Comment on ', el('code', {}, `${line.path}:${line.line}`)),
      text,
      el(
        'div',
        { class: 'row' },
        el('span', { class: 'spacer' }),
        el('button', { type: 'button', class: 'secondary', onclick: () => row.remove() }, 'Cancel'),
        send,
      ),
    );
    const row = el('tr', { class: 'review-comment-row' }, el('td', { colspan: 2 }, form));
    form.onsubmit = async (ev) => {
      ev.preventDefault();
      const comment = text.value.trim();
      if (!comment) return;
      send.disabled = true;
      try {
        // The comment is the tool's argument (data): never markup, never part of a command.
        await tool('send_message_to_agent', { agent, message: commentMessage(line, comment), wait_for_reply: false });
        toast(`Comment on ${line.path}:${line.line} sent to ${agent}`);
        form.replaceWith(el('div', { class: 'review-sent small' }, `Sent to ${agent} on ${line.path}:${line.line}: `, comment));
      } catch (e) {
        toast(e.message, 'error');
        send.disabled = false;
      }
    };
    line.row.after(row);
    text.focus();
  }

  // ---- merge ----

  async function merge() {
    const agent = selected;
    const c = known.get(agent)?.changes;
    const what = c?.branch ? `${c.branch} into ${c.base_branch}` : 'its branch into the base branch';
    if (!(await confirmByName(`Merge ${agent}'s work (${what})? The base branch moves.`, agent, 'Merge'))) return;
    mergeButton.disabled = true;
    outcome.hidden = false;
    outcome.className = 'review-outcome';
    outcome.replaceChildren(el('p', { class: 'muted' }, `Merging ${agent}… (the merge check may take a while)`));
    try {
      // Typing the agent's name above is the person's confirmation, which security level HIGH asks for.
      const r = await tool('merge_agent_work', { agent, confirm: agent });
      outcome.className = 'review-outcome ok';
      // Built by el(), which leaves the absent parts out (replaceChildren would write a null as "null").
      outcome.replaceChildren(
        el(
          'div',
          {},
          el(
            'p',
            {},
            el('strong', {}, 'Merged: '),
            `${r.base_branch} is now at `,
            el('code', { class: 'review-commit' }, r.commit ?? ''),
            ` (was ${String(r.base_before).slice(0, 12)})`,
          ),
          r.root_checkout_updated ? el('p', { class: 'small' }, "The root's checkout holds it.") : null,
          r.told_behind?.length ? el('p', { class: 'small' }, `Told they are behind: ${r.told_behind.join(', ')}`) : null,
          checkView(r.check),
          r.note ? el('p', { class: 'small muted' }, r.note) : null,
        ),
      );
      toast(`${agent} merged into ${r.base_branch}`);
    } catch (e) {
      outcome.className = 'review-outcome refused';
      // The refusal as the tool words it: what was found, the check's last lines, what to do.
      outcome.replaceChildren(el('p', {}, el('strong', {}, 'Not merged')), el('pre', { class: 'review-refusal' }, e.message));
    } finally {
      mergeButton.disabled = false;
      void loadChanges();
    }
  }

  function checkView(check) {
    if (!check) return null;
    return el(
      'div',
      { class: 'review-check' },
      el('p', { class: 'small' }, `Merge check `, el('code', {}, check.command), ` ${check.passed ? 'passed' : 'failed'} (exit ${check.exit_code ?? 'none'})`),
      check.tail ? el('pre', {}, check.tail) : null,
    );
  }

  return { update, card, select };
}
