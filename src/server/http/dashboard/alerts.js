// Browser notifications while a dashboard tab is open: the live feed's `notice` events (the
// same events --notify-url pushes, told once each by the server) become one Notification
// each, once the person has allowed them with the header's switch (a click: browsers ask for
// the permission only on a user gesture). An alert's link (/#agent=NAME) opens that agent.
// Text from agents is only ever given to the Notification as plain text.

const KEY = 'tabcrew.browserAlerts';
const seen = new Set();

const supported = () => typeof window.Notification === 'function';
const wanted = () => localStorage.getItem(KEY) !== 'off';
const allowed = () => supported() && Notification.permission === 'granted' && wanted();

function label(button) {
  if (!supported()) {
    button.hidden = true;
    return;
  }
  const p = Notification.permission;
  button.textContent = p === 'denied' ? '○ alerts blocked' : allowed() ? '● alerts on' : '○ alerts off';
  button.title =
    p === 'denied'
      ? 'This browser blocks notifications from this page: allow them in the site settings.'
      : allowed()
        ? 'A notification when an agent needs you, while this tab is open. Click to turn off.'
        : 'Click to get a notification when an agent needs you, while this tab is open.';
  button.dataset.state = p === 'denied' ? 'blocked' : allowed() ? 'on' : 'off';
}

async function toggle(button) {
  if (!supported()) return;
  if (Notification.permission !== 'granted') {
    // Called straight from the click: the gesture browsers require for the prompt.
    const p = await Notification.requestPermission();
    if (p === 'granted') localStorage.setItem(KEY, 'on');
  } else localStorage.setItem(KEY, wanted() ? 'off' : 'on');
  label(button);
}

function show(n) {
  const key = JSON.stringify([n.agent, n.reason, n.episode ?? n.at]);
  if (seen.has(key)) return;
  seen.add(key);
  if (seen.size > 500) seen.delete(seen.values().next().value);
  if (!allowed()) return;
  const title = `${n.agent} needs you: ${String(n.reason).replace(/_/g, ' ')}`;
  // The tag folds the same agent's same reason shown by several open tabs into one.
  const note = new Notification(title, { body: `${n.message ?? ''}\n${n.action ?? ''}`.trim(), tag: `tabcrew:${n.agent}:${n.reason}` });
  note.onclick = () => {
    window.focus();
    location.hash = `agent=${encodeURIComponent(n.agent)}`;
    note.close();
  };
}

/** Opens the agent an alert's link names (#agent=NAME) once its card is on the page. */
function openLinkedAgent() {
  const m = /^#agent=([^&]+)$/.exec(location.hash);
  if (!m) return;
  const name = decodeURIComponent(m[1]);
  let tries = 0;
  const look = () => {
    const card = document.querySelector(`.agent[data-agent="${CSS.escape(name)}"]`);
    if (card) {
      card.click();
      card.scrollIntoView({ block: 'nearest' });
    } else if (++tries < 60) setTimeout(look, 500);
  };
  look();
}

/** Hooks the page's live feed (an EventSource) and adds the alerts switch to the header. */
export function installAlerts(source) {
  const button = document.createElement('button');
  button.id = 'alerts-toggle';
  button.type = 'button';
  button.className = 'ghost alerts-toggle';
  button.addEventListener('click', () => void toggle(button));
  document.querySelector('header')?.append(button);
  label(button);
  source.addEventListener('notice', (ev) => show(JSON.parse(ev.data)));
  window.addEventListener('hashchange', openLinkedAgent);
  openLinkedAgent();
}
