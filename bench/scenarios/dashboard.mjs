/**
 * The dashboard in a real browser: `node dist/cli.js serve --http 0` (stdio beside it, which
 * the bench drives) with a session of 32 stand-in agents, and Debian's chromium (headless,
 * through playwright-core, the launch options of test/e2e/http-dashboard.test.ts) logged in
 * through the one-time link of `tabcrew dashboard`.
 *
 * dashboard_first_paint_ms: navigation start → first contentful paint, median of LOADS
 * loads; dashboard_all_cards_ms: navigation start → all 32 agent cards in the page.
 * dashboard_status_to_page_p50_ms: `send_message_to_agent` to an idle agent (it turns busy)
 * → the page shows that agent busy; the time is taken when the send is made, and (detail)
 * from the moment the server's status notification reached the bench over stdio. The page
 * keeps the first time it showed each agent's status (a MutationObserver, Date.now() of the
 * same machine), so a short busy turn cannot be missed between two looks. SENDS sends, each
 * to a different idle agent. Without chromium or playwright-core: null with a note.
 */
/* global window, document, MutationObserver -- the page's own globals, in functions page.evaluate runs in chromium */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { CHROMIUM, launchChromium } from '../chromium.mjs';
import { CLI, inBatches, median, quantile, round, sleep, startServer } from '../support.mjs';

const AGENTS = 32;
const LOADS = 5;
const SENDS = 10;
// Long enough that "busy" is a state the page can show, short enough for 10 sends.
const TURN_MS = '1500';
const METRICS = ['dashboard_first_paint_ms', 'dashboard_all_cards_ms', 'dashboard_status_to_page_p50_ms'];

async function browserOrWhyNot() {
  if (!existsSync(CHROMIUM)) return { why: `no ${CHROMIUM} (Debian: apt-get install chromium)` };
  try {
    return { chromium: (await import('playwright-core')).chromium };
  } catch (e) {
    return { why: `playwright-core cannot be loaded: ${e.message}` };
  }
}

export default {
  name: 'dashboard',
  standIn: true,
  async run(ctx, report) {
    const { chromium, why } = await browserOrWhyNot();
    if (!chromium) {
      for (const m of METRICS) report(m, null, 'ms', { note: `not measured: ${why}` });
      return;
    }
    const dirs = ctx.dirs('dashboard');
    const socket = ctx.socket('dashboard');
    const server = await startServer(ctx, { dirs, socket, args: ['--http', '0'], env: { STAND_IN_TURN_MS: TURN_MS }, label: 'dashboard server' });
    // Status changes as the server reports them to its stdio client (logger "tabcrew.status").
    const notified = new Map();
    server.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
      const c = n.params.data;
      if (n.params.logger === 'tabcrew.status' && c?.to === 'busy' && !notified.has(c.agent)) notified.set(c.agent, Date.now());
    });
    const root = ctx.root('dashboard');
    await server.ok('create_session', { root, name: 'dash' });
    const made = await inBatches(AGENTS, 8, () => server.ok('create_agent', { session: 'dash' }));
    const notIdle = made.filter((a) => a.status !== 'idle');
    if (notIdle.length) throw new Error(`${notIdle.length} agents did not reach idle`);

    const { url } = JSON.parse(readFileSync(join(dirs.state, 'http-endpoint.json'), 'utf8'));
    const link = JSON.parse(execFileSync(process.execPath, [CLI, 'dashboard', '--state-dir', dirs.state, '--json'], { encoding: 'utf8', env: ctx.env() })).url;
    const context = await launchChromium(ctx.base);
    ctx.onCleanup(() => context.close());
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(link);
    await page.waitForURL(`${url}/`, { timeout: 30_000 });

    // ---- first paint: fresh loads of the page, logged in ----
    const allCards = (n) => document.querySelectorAll('.agent[data-agent]').length >= n;
    const fcp = [];
    const cards = [];
    await page.waitForFunction(allCards, AGENTS, { timeout: 60_000 });
    for (let i = 0; i < LOADS; i++) {
      await page.goto(`${url}/`, { waitUntil: 'commit' });
      await page.waitForFunction(allCards, AGENTS, { timeout: 60_000, polling: 'raf' });
      // performance.now() counts from navigation start.
      cards.push(await page.evaluate(() => performance.now()));
      const paint = await page.evaluate(
        () =>
          new Promise((done) => {
            const seen = performance.getEntriesByName('first-contentful-paint')[0];
            if (seen) return done(seen.startTime);
            new PerformanceObserver((list) => done(list.getEntries()[0].startTime)).observe({ type: 'paint', buffered: true });
          }),
      );
      fcp.push(paint);
    }
    report('dashboard_first_paint_ms', round(median(fcp)), 'ms', {
      detail: `navigation start → first contentful paint, median of ${LOADS} loads (${fcp.map((v) => round(v)).join(' ')})`,
    });
    report('dashboard_all_cards_ms', round(median(cards)), 'ms', {
      detail: `navigation start → all ${AGENTS} agent cards in the page, median of ${LOADS} (${cards.map((v) => round(v)).join(' ')})`,
    });

    // ---- status change → page ----
    await page.waitForSelector('#live.on', { timeout: 30_000 });
    await page.evaluate(() => {
      const seen = (window.__seen = new Map());
      const scan = () => {
        const now = Date.now();
        for (const card of document.querySelectorAll('.agent[data-agent]')) {
          const key = `${card.dataset.agent} ${card.dataset.status}`;
          if (!seen.has(key)) seen.set(key, now);
        }
      };
      new MutationObserver(scan).observe(document.getElementById('sessions'), { childList: true, subtree: true, attributes: true });
      scan();
    });
    const fromSend = [];
    const fromNotice = [];
    for (let i = 0; i < SENDS; i++) {
      const agent = made[i].agent;
      const t0 = Date.now();
      const sent = server.ok('send_message_to_agent', { agent, message: `Dashboard bench ${i}: one line, please.` });
      const shownAt = await page.waitForFunction((key) => window.__seen.get(key), `${agent} busy`, { timeout: 30_000, polling: 50 }).then((h) => h.jsonValue());
      await sent;
      fromSend.push(shownAt - t0);
      if (notified.has(agent)) fromNotice.push(shownAt - notified.get(agent));
      // The agent goes back to idle before the next send (its turn is TURN_MS).
      await page.waitForFunction((a) => document.querySelector(`.agent[data-agent="${a}"]`)?.dataset.status === 'idle', agent, { timeout: 30_000 });
      await sleep(100);
    }
    report('dashboard_status_to_page_p50_ms', round(median(fromSend)), 'ms', {
      detail:
        `send_message_to_agent sent → card shows busy, ${SENDS} sends to idle agents of ${AGENTS}; p90 ${round(quantile(fromSend, 0.9))}` +
        (fromNotice.length
          ? `; from the server's status notice on stdio: p50 ${round(median(fromNotice))} (${fromNotice.length} seen)`
          : '; no status notice seen on stdio'),
    });
    await context.close();
    await server.close();
  },
};
