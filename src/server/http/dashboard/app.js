// The dashboard page. Everything it shows comes from /api on the same server; every action is
// a tool call (POST /api/tools/:name) that runs through the same MCP tool code as any client.
// Text from agents is only ever set as textContent, never as HTML.
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import { displayable, excerpt, promptText } from './text.js';
import { initReview } from './review.js';
import { WAITING_STATUSES, questionAndPlanEntries } from './requests.js';
import { installAlerts } from './alerts.js';
import { showLimits } from './limits.js';

const $ = (id) => document.getElementById(id);
const state = { csrf: null, sessions: [], tools: new Map(), selected: null, screenSource: null, term: null, fit: null };
/** The review parts (review.js): counts on the cards, the Changes tab, the ready list. */
let review = null;

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function toast(text, kind = 'info') {
  const t = $('toast');
  t.textContent = text;
  t.className = kind;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (t.hidden = true), kind === 'error' ? 8000 : 3500);
}

async function api(path, init = {}) {
  const headers = { ...(init.headers ?? {}) };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  if (init.method && init.method !== 'GET' && state.csrf) headers['x-csrf-token'] = state.csrf;
  const res = await fetch(path, { ...init, headers, credentials: 'same-origin' });
  if (res.status === 401) {
    showLogin();
    throw new Error('not logged in');
  }
  const body = res.headers.get('content-type')?.includes('json') ? await res.json() : {};
  if (!res.ok && !body.unavailable) throw new Error(body.error ?? `${res.status} ${res.statusText}`);
  return body;
}

const textOf = (result) => (result.content ?? []).map((c) => (c.type === 'text' ? c.text : '')).join('\n');

/** Runs a tool like any MCP client would; resolves with its structuredContent, rejects with its message. */
async function tool(name, args) {
  const r = await api(`/api/tools/${encodeURIComponent(name)}`, { method: 'POST', body: JSON.stringify({ arguments: args }) });
  if (r.unavailable) throw new Error(r.error);
  if (r.isError) throw new Error(textOf(r));
  return r.structuredContent ?? {};
}

function showLogin() {
  $('login').hidden = false;
  $('columns').hidden = true;
  $('live').textContent = 'logged out';
  $('live').className = 'live off';
}

// ---- sessions and agents ------------------------------------------------------------------

const STATUS_CLASS = {
  idle: 'ok',
  busy: 'busy',
  starting: 'busy',
  waiting_permission: 'warn',
  waiting_answer: 'warn',
  waiting_plan_approval: 'warn',
  exited: 'bad',
  detached: 'bad',
  cleared: 'muted',
  paused: 'warn',
  hibernated: 'muted',
};

function ago(iso) {
  if (!iso) return '';
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  return `${Math.round(s / 3600)}h ago`;
}

const fmt = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : String(n ?? 0));

function tokensOf(a) {
  const t = a.tokens ?? {};
  return `${fmt((t.input ?? 0) + (t.cache_read ?? 0) + (t.cache_creation ?? 0))} in · ${fmt(t.output ?? 0)} out`;
}

function progress(done, open) {
  const total = done + open;
  const pct = total ? Math.round((done / total) * 100) : 0;
  return el(
    'span',
    { class: 'progress', title: `${done} of ${total} tasks done` },
    el('span', { class: 'bar' }, el('span', { style: `width:${pct}%` })),
    `${done}/${total}`,
  );
}

function agentCard(a, session) {
  // get_session_status gives health as {health, reason, since} and cost in usage (docs/long-running.md).
  const h = a.health && typeof a.health === 'object' ? a.health : a.health ? { health: a.health } : null;
  const health = h ? el('span', { class: `tag ${h.health === 'ok' ? 'ok' : 'warn'}`, title: h.reason ?? '' }, h.health) : null;
  const usd = a.usage ? a.usage.cost_usd : a.cost_usd;
  const cost =
    typeof usd === 'number'
      ? el('span', { class: 'muted' }, `$${usd.toFixed(4)}`)
      : a.usage && usd === null
        ? el('span', { class: 'muted', title: 'a model of this agent is missing from the price table (--prices-file)' }, 'unpriced')
        : null;
  return el(
    'button',
    {
      class: `agent ${state.selected === a.agent ? 'selected' : ''}`,
      'data-agent': a.agent,
      'data-status': a.status,
      onclick: () => selectAgent(a.agent, session),
    },
    el('div', { class: 'agent-head' }, el('strong', {}, a.agent), el('span', { class: `status ${STATUS_CLASS[a.status] ?? ''}` }, a.status.replace('_', ' '))),
    el('div', { class: 'muted small' }, `from ${a.status_source} · ${ago(a.since)}`),
    el('div', { class: 'small' }, tokensOf(a), ' ', cost, ' ', health),
    review?.card(a),
    a.tasks && a.tasks.open + a.tasks.done ? el('div', { class: 'small' }, 'tasks ', progress(a.tasks.done, a.tasks.open)) : null,
    el('div', { class: 'reply-excerpt' }, a.last_reply ? displayable(excerpt(a.last_reply, 400)) : '—'),
  );
}

function renderSessions() {
  const root = $('sessions');
  root.replaceChildren();
  const agents = state.sessions.flatMap((s) => s.agents ?? []);
  $('summary').textContent =
    `${state.sessions.length} session${state.sessions.length === 1 ? '' : 's'} · ${agents.length} agent${agents.length === 1 ? '' : 's'}`;
  if (!state.sessions.length) root.append(el('p', { class: 'muted empty' }, 'No sessions yet: create one below, or with create_session from any MCP client.'));
  for (const s of state.sessions) {
    const head = el(
      'div',
      { class: 'session-head' },
      el('h2', {}, s.name),
      el('code', { class: 'muted' }, s.root),
      s.todo ? el('span', { class: 'small' }, 'TODO.md ', progress(s.todo.done, s.todo.open)) : el('span', { class: 'muted small' }, 'no TODO.md'),
      el('span', { class: 'spacer' }),
      el('button', { class: 'secondary', onclick: () => addAgent(s) }, '+ Agent'),
    );
    const grid = el(
      'div',
      { class: 'agents' },
      (s.agents ?? []).map((a) => agentCard(a, s)),
    );
    if (s.error) grid.append(el('p', { class: 'error' }, s.error));
    root.append(el('section', { class: 'session', 'data-session': s.session_id }, head, grid));
  }
  const select = document.querySelector('#fanout-form select[name=session]');
  // The person's choice is kept across updates; until they choose, the first session is picked.
  const chosen = select.dataset.chosen;
  select.replaceChildren(el('option', { value: '' }, '(new session at root)'), ...state.sessions.map((s) => el('option', { value: s.session_id }, s.name)));
  if (chosen !== undefined && [...select.options].some((o) => o.value === chosen)) select.value = chosen;
  else if (state.sessions.length) select.value = state.sessions[0].session_id;
  document.querySelector('#fanout-form input[name=root]').disabled = select.value !== '';
  if (state.selected) updateAgentMeta();
  review?.update(state.sessions);
}

function findAgent(name) {
  for (const s of state.sessions) for (const a of s.agents ?? []) if (a.agent === name) return { a, s };
  return undefined;
}

async function addAgent(session) {
  toast(`Starting an agent in ${session.name}…`);
  try {
    const r = await tool('create_agent', { session: session.session_id });
    toast(`${r.agent} is ${r.status}`);
  } catch (e) {
    toast(e.message, 'error');
  }
}

// ---- one agent ----------------------------------------------------------------------------

function updateAgentMeta() {
  const found = findAgent(state.selected);
  if (!found) return;
  const { a, s } = found;
  $('agent-meta').textContent = `${s.name} · ${a.status} (from ${a.status_source}, ${ago(a.since)}) · ${tokensOf(a)}`;
  if (a.last_reply !== undefined) $('last-reply').textContent = displayable(a.last_reply);
}

function selectAgent(name) {
  state.selected = name;
  document.querySelectorAll('.agent').forEach((c) => c.classList.toggle('selected', c.dataset.agent === name));
  $('agent-panel').hidden = false;
  $('agent-title').textContent = name;
  $('last-reply').textContent = '';
  $('transcript').replaceChildren();
  updateAgentMeta();
  review?.select(name);
  if (!state.term) {
    state.term = new Terminal({
      cols: 120,
      rows: 32,
      disableStdin: true,
      cursorBlink: false,
      convertEol: true,
      fontSize: 12,
      scrollback: 1000,
      theme: { background: '#0d1117' },
    });
    state.fit = new FitAddon();
    state.term.loadAddon(state.fit);
    state.term.open($('terminal'));
  }
  fitTerminal();
  state.term.reset();
  state.screenSource?.close();
  // The terminal is read only: the page shows the backend's screen, it never types into it.
  const source = new EventSource(`/api/agents/${encodeURIComponent(name)}/screen`);
  state.screenSource = source;
  source.addEventListener('screen', (ev) => {
    const d = JSON.parse(ev.data);
    state.term.reset();
    state.term.write(displayable(d.screen).replace(/\n+$/, ''));
    $('screen-note').textContent = d.note ?? '';
    if (d.last_reply !== undefined) $('last-reply').textContent = displayable(d.last_reply);
  });
  source.addEventListener('gone', (ev) => ($('screen-note').textContent = JSON.parse(ev.data).error));
  void loadTranscript(name);
}

async function loadTranscript(name) {
  try {
    const t = await api(`/api/agents/${encodeURIComponent(name)}/transcript`);
    if (state.selected !== name) return;
    $('transcript').replaceChildren(
      ...(t.turns ?? []).map((turn) => {
        const prompt = displayable(promptText(turn.prompt));
        return el(
          'details',
          { class: 'turn' },
          el('summary', {}, excerpt(prompt.split('\n')[0], 120) || '(prompt)'),
          el('pre', { class: 'prompt' }, prompt),
          el('pre', {}, displayable(turn.reply ?? '')),
        );
      }),
    );
    if (!t.turns?.length) $('transcript').append(el('p', { class: 'muted' }, 'No turns yet.'));
  } catch (e) {
    $('transcript').replaceChildren(el('p', { class: 'error' }, e.message));
  }
}

/** Claude Code draws for its 120-column tab: the same width here, so its lines and boxes look as they do there. */
function fitTerminal() {
  const dims = state.fit?.proposeDimensions();
  if (!dims || !Number.isFinite(dims.cols)) return;
  state.term.resize(120, Math.max(24, Math.min(40, dims.rows)));
}

function closeAgent() {
  state.selected = null;
  state.screenSource?.close();
  state.screenSource = null;
  $('agent-panel').hidden = true;
  review?.select(null);
  document.querySelectorAll('.agent.selected').forEach((c) => c.classList.remove('selected'));
}

async function sendMessage(ev) {
  ev.preventDefault();
  const form = ev.target;
  const agent = state.selected;
  const message = form.message.value;
  const wait = form.wait.checked;
  const button = form.querySelector('button');
  button.disabled = true;
  toast(`Sending to ${agent}…`);
  try {
    const r = await tool('send_message_to_agent', { agent, message, wait_for_reply: wait });
    form.message.value = '';
    toast(`${agent}: delivery ${r.delivered}`);
    if (r.reply !== undefined && state.selected === agent) $('last-reply').textContent = displayable(r.reply);
    void loadTranscript(agent);
  } catch (e) {
    toast(e.message, 'error');
  } finally {
    button.disabled = false;
  }
}

/** A destructive action asks first; the person types the agent's name, which is also the HIGH level's confirm. */
function confirmByName(text, name, action) {
  return new Promise((resolve) => {
    const dialog = $('confirm');
    $('confirm-text').textContent = `${text} Type ${name} to confirm.`;
    const input = $('confirm-input');
    input.value = '';
    $('confirm-ok').textContent = action;
    $('confirm-ok').disabled = true;
    input.oninput = () => ($('confirm-ok').disabled = input.value !== name);
    dialog.onclose = () => resolve(dialog.returnValue === 'ok' && input.value === name);
    dialog.showModal();
    input.focus();
  });
}

async function clearAgent() {
  const agent = state.selected;
  if (!(await confirmByName(`Clear ${agent}'s conversation? Its transcript is kept.`, agent, 'Clear'))) return;
  try {
    await tool('clear_agent_conversation', { agent });
    toast(`${agent} cleared`);
  } catch (e) {
    toast(e.message, 'error');
  }
}

async function deleteAgent() {
  const agent = state.selected;
  if (!(await confirmByName(`Delete ${agent}? Its tab is closed.`, agent, 'Delete'))) return;
  try {
    await tool('delete_agent', { agent, confirm: agent });
    toast(`${agent} deleted`);
    closeAgent();
  } catch (e) {
    toast(e.message, 'error');
  }
}

// ---- tools built elsewhere: fan-out and permissions -----------------------------------------

/** Arguments for a tool whose schema this page does not fix: each value goes to the first of its names the schema has. */
function argsFor(toolName, wanted) {
  const props = state.tools.get(toolName)?.inputSchema?.properties ?? {};
  const out = {};
  for (const [names, value] of wanted) {
    if (value === undefined || value === '') continue;
    const key = names.find((n) => n in props);
    if (key) out[key] = value;
  }
  return out;
}

function unavailable(panel, names) {
  const missing = names.filter((n) => !state.tools.has(n));
  panel.classList.toggle('unavailable', missing.length > 0);
  return missing.length ? `Not available in this tabcrew (needs the ${missing.join(' and ')} tool${missing.length > 1 ? 's' : ''}).` : '';
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function runFanout(ev) {
  ev.preventDefault();
  const f = ev.target;
  if (!state.tools.has('coordinate_agents')) return toast(unavailable($('fanout'), ['coordinate_agents']), 'error');
  const n = Number(f.n.value);
  const role = f.role.value.trim();
  const props = state.tools.get('coordinate_agents').inputSchema?.properties ?? {};
  const button = f.querySelector('button[type=submit]');
  const results = $('fanout-results');
  const started = Date.now();
  button.disabled = true;
  results.replaceChildren(...Array.from({ length: n }, (_, i) => pendingResult(i)));
  try {
    let session = f.session.value;
    if (!session) {
      session = (await tool('create_session', { root: f.root.value.trim() })).session_id;
      f.session.dataset.chosen = session;
    }
    $('fanout-note').textContent = `Starting ${n} agent${n === 1 ? '' : 's'}…`;
    // The run's own tool decides its argument names; the ones this page knows are filled in.
    const args = argsFor('coordinate_agents', [
      [['session', 'session_id'], session],
      [['mode'], 'parallel'],
      [['task', 'prompt', 'message'], f.prompt.value],
      [['wait'], state.tools.has('get_coordination') ? false : undefined],
    ]);
    if ('spawn' in props) args.spawn = { count: n, ...(role ? { role } : {}) };
    else
      Object.assign(
        args,
        argsFor('coordinate_agents', [
          [['n', 'count'], n],
          [['role'], role],
        ]),
      );
    let run = await tool('coordinate_agents', args);
    showFanout(run, n, started);
    // Replies appear as each agent finishes: the run is read again until it ends.
    for (let i = 0; i < 2400 && run.run_id && run.state === 'running' && state.tools.has('get_coordination'); i++) {
      await sleep(1500);
      run = await tool('get_coordination', { run_id: run.run_id });
      showFanout(run, n, started);
    }
  } catch (e) {
    $('fanout-note').textContent = '';
    results.replaceChildren(el('p', { class: 'error' }, e.message));
  } finally {
    button.disabled = false;
  }
}

const pendingResult = (i, name) => el('div', { class: 'result pending' }, el('strong', {}, name ?? `#${i + 1}`), el('div', { class: 'muted' }, 'working…'));

function showFanout(run, n, started) {
  const results = run.results ?? [];
  const names = [...(run.agents ?? []), ...(run.spawned ?? [])].filter((a, i, all) => all.indexOf(a) === i);
  const done = run.progress ? `${run.progress.done}/${run.progress.total} done` : `${results.length} done`;
  $('fanout-note').textContent = [run.run_id, run.state, done, `${((Date.now() - started) / 1000).toFixed(0)} s`].filter(Boolean).join(' · ');
  const shown = results.map((r) =>
    el(
      'div',
      { class: `result ${r.status === 'done' || r.status === 'ok' ? '' : 'warn'}`, 'data-agent': r.agent },
      el(
        'div',
        { class: 'row' },
        el('strong', {}, r.agent),
        el('span', { class: 'spacer' }),
        el(
          'span',
          { class: 'muted small' },
          [
            r.status,
            r.ms !== undefined ? `${(r.ms / 1000).toFixed(1)} s` : null,
            r.tokens ? `${fmt(r.tokens.output)} out` : null,
            typeof r.cost_usd === 'number' ? `$${r.cost_usd.toFixed(4)}` : null,
          ]
            .filter(Boolean)
            .join(' · '),
        ),
      ),
      el('pre', {}, displayable(r.reply ?? r.error ?? '')),
    ),
  );
  const waiting = names.filter((a) => !results.some((r) => r.agent === a)).map((a, i) => pendingResult(i, a));
  const unnamed = Array.from({ length: Math.max(0, n - shown.length - waiting.length) }, (_, i) => pendingResult(shown.length + waiting.length + i));
  $('fanout-results').replaceChildren(...shown, ...(run.state === 'running' ? [...waiting, ...unnamed] : []));
}

async function refreshPermissions() {
  const list = $('permissions-list');
  const missing = unavailable($('permissions'), ['list_pending_permissions', 'decide_permission']);
  if (missing) return list.replaceChildren(el('p', { class: 'muted' }, missing));
  try {
    const r = await tool('list_pending_permissions', {});
    const pending = r.requests ?? r.pending ?? [];
    // Questions and plans (requests.js) share the panel.
    const asked = await questionAndPlanEntries({ el, tool, toast, ago, has: (n) => state.tools.has(n), refresh: () => void refreshPermissions() });
    if (!pending.length && !asked.length) return list.replaceChildren(el('p', { class: 'muted' }, 'No agent is waiting for a person.'));
    list.replaceChildren(
      ...asked,
      ...pending.map((p) => {
        const id = p.request_id ?? p.id;
        const decide = async (decision) => {
          try {
            // Clicking Allow beside the request shown is the person's confirmation (what security level HIGH asks for).
            await tool('decide_permission', {
              request_id: id,
              decision,
              ...(decision === 'allow' ? { confirm: id } : { reason: 'Denied from the tabcrew dashboard.' }),
            });
            toast(`${p.agent}: ${p.tool} ${decision === 'allow' ? 'allowed' : 'denied'}`);
          } catch (e) {
            toast(e.message, 'error');
          }
          void refreshPermissions();
        };
        return el(
          'div',
          { class: 'permission', 'data-id': id, 'data-agent': p.agent },
          el('div', {}, el('strong', {}, p.agent), ' wants to run ', el('code', {}, p.tool), el('span', { class: 'muted small' }, ` · ${ago(p.since)}`)),
          // Exactly the summary the person approves: no glyph replaced.
          el('pre', {}, p.input_summary ?? ''),
          el(
            'div',
            { class: 'row' },
            el('span', { class: 'spacer' }),
            el('button', { class: 'secondary', onclick: () => decide('deny') }, 'Deny'),
            el('button', { onclick: () => decide('allow') }, 'Allow'),
          ),
        );
      }),
    );
  } catch (e) {
    list.replaceChildren(el('p', { class: 'error' }, e.message));
  }
}

// ---- live updates ---------------------------------------------------------------------------

function activity(text) {
  const list = $('activity-list');
  list.prepend(el('li', {}, el('span', { class: 'muted small' }, new Date().toLocaleTimeString()), ' ', text));
  while (list.children.length > 30) list.lastChild.remove();
}

function connect() {
  const source = new EventSource('/api/events');
  installAlerts(source);
  source.onopen = () => {
    $('live').textContent = 'live';
    $('live').className = 'live on';
  };
  source.onerror = () => {
    $('live').textContent = 'reconnecting…';
    $('live').className = 'live off';
  };
  let waiting = 0;
  source.addEventListener('snapshot', (ev) => {
    state.sessions = JSON.parse(ev.data).sessions;
    renderSessions();
    showLimits(state.sessions);
    // A permission dialog opened or closed somewhere: the list is read again (not on every snapshot).
    const now = state.sessions.flatMap((s) => s.agents ?? []).filter((a) => WAITING_STATUSES.includes(a.status)).length;
    if (now !== waiting) void refreshPermissions();
    waiting = now;
  });
  // A status change is shown at once, before the next snapshot brings the rest.
  source.addEventListener('status', (ev) => {
    const c = JSON.parse(ev.data);
    const found = findAgent(c.agent);
    if (found) {
      Object.assign(found.a, { status: c.to, status_source: c.source, since: c.at });
      renderSessions();
    }
    activity(`${c.agent}: ${c.from} → ${c.to} (${c.source})`);
    if (WAITING_STATUSES.includes(c.to) || WAITING_STATUSES.includes(c.from)) void refreshPermissions();
  });
}

async function start() {
  $('agent-close').onclick = closeAgent;
  $('message-form').onsubmit = sendMessage;
  $('agent-clear').onclick = clearAgent;
  $('agent-delete').onclick = deleteAgent;
  $('fanout-form').onsubmit = runFanout;
  document.querySelector('#fanout-form select[name=session]').onchange = (ev) => {
    ev.target.dataset.chosen = ev.target.value;
    document.querySelector('#fanout-form input[name=root]').disabled = ev.target.value !== '';
  };
  $('permissions-refresh').onclick = () => void refreshPermissions();
  $('new-session-form').onsubmit = async (ev) => {
    ev.preventDefault();
    try {
      const r = await tool('create_session', { root: ev.target.root.value, ...(ev.target.name.value ? { name: ev.target.name.value } : {}) });
      toast(`Session ${r.name} created`);
      ev.target.reset();
    } catch (e) {
      toast(e.message, 'error');
    }
  };
  window.addEventListener('resize', fitTerminal);
  try {
    state.csrf = (await api('/api/dashboard/session')).csrf;
  } catch {
    return;
  }
  $('columns').hidden = false;
  const { tools } = await api('/api/tools');
  state.tools = new Map(tools.map((t) => [t.name, t]));
  $('fanout-note').textContent = unavailable($('fanout'), ['coordinate_agents']);
  review = initReview({ tool, el, toast, confirmByName, openAgent: selectAgent });
  void refreshPermissions();
  connect();
}

void start();
