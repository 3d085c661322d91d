// The usage-limit banner (docs/usage-limits.md): while the crew's account is at an API usage
// limit, a countdown to its reset and the agents it paused. Fed by each status snapshot; the
// countdown ticks on its own between snapshots. Text only through textContent.

let current;
let timer;

function banner() {
  let b = document.getElementById('limits-banner');
  if (!b) {
    b = document.createElement('div');
    b.id = 'limits-banner';
    b.setAttribute('role', 'status');
    b.hidden = true;
    document.querySelector('main')?.prepend(b);
  }
  return b;
}

/** "1 h 04 min", "3 min 05 s", "12 s". */
export function countdown(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  const pad = (n) => String(n).padStart(2, '0');
  if (s >= 3600) return `${Math.floor(s / 3600)} h ${pad(Math.floor((s % 3600) / 60))} min`;
  if (s >= 60) return `${Math.floor(s / 60)} min ${pad(s % 60)} s`;
  return `${s} s`;
}

/** The banner's text for one account's limit state, or '' when nothing is limited. */
export function limitText(limit, now = Date.now()) {
  if (!limit || limit.state === 'ok') return '';
  const paused = limit.agents_paused?.length ? ` Paused: ${limit.agents_paused.join(', ')}.` : '';
  const queued = limit.queued ? ` ${limit.queued} queued for after the reset.` : '';
  if (limit.state === 'resuming') return `Usage limit reset: resuming the crew a few agents at a time.${paused}${queued}`;
  const what = limit.kind === 'rate_limit' ? 'API rate limit (429)' : 'Usage limit reached';
  const at = limit.resumes_at ? new Date(limit.resumes_at) : undefined;
  const when = at ? ` Resumes in ${countdown(at.getTime() - now)} (${at.toLocaleTimeString()}).` : '';
  return `${what}: no agent starts and no message is typed.${when}${paused}${queued}`;
}

function render() {
  const b = banner();
  const text = limitText(current);
  b.hidden = !text;
  b.textContent = text;
  b.className = current?.state === 'resuming' ? 'resuming' : 'limited';
}

/** Called with every snapshot's sessions: each carries the crew's `limits`. */
export function showLimits(sessions) {
  const limits = (sessions ?? []).flatMap((s) => s.limits ?? []);
  current = limits.find((l) => l.state === 'limited') ?? limits.find((l) => l.state === 'resuming');
  render();
  if (current && !timer) timer = setInterval(render, 1000);
  if (!current && timer) {
    clearInterval(timer);
    timer = undefined;
  }
}
