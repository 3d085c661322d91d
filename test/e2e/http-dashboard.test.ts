import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { CHROMIUM, launchChromium } from '../../bench/chromium.mjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tail } from '../../src/audit/audit-log.js';
import { claudeBin, makeClaudeHome } from '../support/claude-home.js';
import { mockedHome, tearDown } from '../support/e2e-world.js';
import { DEFAULT_REPLY, isConversationRequest, lastUserContent, startMockAnthropic, type MockAnthropic } from '../support/mock-anthropic.js';
import { httpOf } from '../support/http-crew.js';
import { CLI, startTabcrew, type Crew } from '../support/tabcrew.js';
import { COLOR_QUESTION } from '../support/questions.js';

/**
 * `serve --http` with real Claude Code agents (mock API, tmux): an MCP client over Streamable
 * HTTP runs the core scenario while the stdio client watches the same crew; the REST mirror
 * and the refusals; then the dashboard in a real browser (Debian's chromium), with a
 * screenshot of each step in test/artifacts/http-dashboard/, and on a phone (390×844). A
 * receiver on 127.0.0.1 stands for --notify-url (given in TABCREW_NOTIFY_URL, a token in it).
 */
const artifacts = resolve(import.meta.dirname, '../artifacts/http-dashboard');
const base = realpathSync(mkdtempSync(join(tmpdir(), 'tabcrew-http-')));
const root = join(base, 'app');
const DASHBOARD_REPLY = 'Hello from the mock, answering the dashboard.';
const PERMISSION_PROMPT = 'make the dashboard file';
const PHONE_PROMPT = 'make the phone file';
// What --notify-url's receiver must never be sent back: the token in its own URL.
const HOOK_TOKEN = 'hooktoken-0123456789abcdef';
const FANOUT_PROMPT = 'Name one prime number.';
const QUESTION_PROMPT = 'ask the dashboard a question';
const QUESTION = COLOR_QUESTION;
const PLAN_PROMPT = 'plan for the dashboard';
// Markup in a plan is text on the page, never HTML.
const PLAN_TEXT = '# Plan\n\n1. Make a.txt\n2. Show <img src=x onerror=alert(1)> as text\n';
const FANOUT_REPLY = 'Seven is prime.';
const PASTE_MARK = 'LONG-PASTE-MARK';
// Long enough that a card shows only its start: whole words, then "…".
const LONG_REPLY = Array.from({ length: 12 }, (_, i) => `Paragraph ${i + 1} of the long reply explains one more step of the change in plain words.`).join('\n');
let mock: MockAnthropic;
let home: ReturnType<typeof makeClaudeHome>;
let crew: Crew;
let url: string;
let token: string;
let receiver: Server;
/** The alerts the --notify-url receiver got, in order. */
const posts: { path: string; type: string; body: string }[] = [];
/** The agent of the permission requests (made by the desktop test, used again on the phone). */
let permissionAgent: string;

beforeAll(async () => {
  mkdirSync(root);
  mkdirSync(artifacts, { recursive: true });
  mock = await startMockAnthropic({
    reply: (req) => {
      if (!isConversationRequest(req)) return 'title';
      const content = lastUserContent(req);
      const results = Array.isArray(content) ? content.filter((b: any) => b?.type === 'tool_result') : [];
      // The plan's Write ran: the model asks to leave plan mode (ExitPlanMode takes no argument).
      if (results.some((b: any) => b.tool_use_id === 'toolu_dash_plan_write'))
        return { text: 'Planned.', toolUse: { id: 'toolu_dash_plan', name: 'ExitPlanMode', input: {} } };
      if (results.length) return 'Done.';
      const text = mock.lastUserText(req) ?? '';
      if (text.includes(QUESTION_PROMPT))
        return { text: 'A question.', toolUse: { id: 'toolu_dash_ask', name: 'AskUserQuestion', input: { questions: [QUESTION] } } };
      const planPath = /create your plan at (\S+?\.md)/.exec(JSON.stringify(req.body.messages))?.[1];
      if (text.includes(PLAN_PROMPT) && planPath) {
        return { text: 'Planning.', toolUse: { id: 'toolu_dash_plan_write', name: 'Write', input: { file_path: planPath, content: PLAN_TEXT } } };
      }
      if (text.includes(PHONE_PROMPT)) {
        return { text: 'Running it.', toolUse: { id: 'toolu_phone', name: 'Bash', input: { command: 'touch from-phone.txt', description: 'Make a file' } } };
      }
      if (text.includes(PERMISSION_PROMPT)) {
        return { text: 'Running it.', toolUse: { id: 'toolu_dash', name: 'Bash', input: { command: 'touch from-dashboard.txt', description: 'Make a file' } } };
      }
      if (text.includes(FANOUT_PROMPT)) return FANOUT_REPLY;
      if (text.includes(PASTE_MARK)) return LONG_REPLY;
      return /dashboard says hi/.test(text) ? DASHBOARD_REPLY : DEFAULT_REPLY;
    },
  });
  home = mockedHome(mock, [root]);
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      posts.push({ path: req.url ?? '', type: req.headers['content-type'] ?? '', body });
      res.end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook/${HOOK_TOKEN}?auth=${HOOK_TOKEN}`;
  crew = await startTabcrew({
    env: { ...home.env, TABCREW_NOTIFY_URL: hook },
    args: ['--claude-path', claudeBin, '--backend', 'tmux', '--http', '0'],
  });
  ({ url, token } = await httpOf(crew));
});

afterAll(async () => {
  receiver?.closeAllConnections();
  receiver?.close();
  await tearDown([crew], mock, home, base);
});

/** The alerts the receiver got for one agent and event. */
const alertsOf = (agent: string, event: string) => posts.map((p) => JSON.parse(p.body)).filter((a) => a.agent === agent && a.event === event);

const auth = (): Record<string, string> => ({ authorization: `Bearer ${token}` });
const get = (path: string, headers: Record<string, string> = {}) => fetch(`${url}${path}`, { headers });

/** `tabcrew dashboard`: the one-time login link. */
function loginLink(): string {
  const out = execFileSync(process.execPath, [CLI, 'dashboard', '--state-dir', crew.dirs.state, '--json'], { encoding: 'utf8' });
  return JSON.parse(out).url;
}

describe('MCP over Streamable HTTP', () => {
  let http: Client;

  afterAll(async () => {
    await http?.close();
  });

  it('an MCP client over HTTP runs the core scenario while the stdio client watches the same crew', async () => {
    http = new Client({ name: 'http-tests', version: '1.0.0' });
    await http.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers: auth() } }));
    const call = async (name: string, args: Record<string, unknown>) => {
      const r = (await http.callTool({ name, arguments: args }, undefined, {
        timeout: 300_000,
        resetTimeoutOnProgress: true,
        onprogress: () => undefined,
      })) as CallToolResult;
      if (r.isError) throw new Error(`${name}: ${JSON.stringify(r.content)}`);
      return r.structuredContent as any;
    };
    const session = await call('create_session', { root, name: 'web' });
    const a1 = await call('create_agent', { session: 'web' });
    const a2 = await call('create_agent', { session: 'web' });
    expect([a1.status, a2.status]).toEqual(['idle', 'idle']);
    const sent = await call('send_message_to_agent', { agent: 'Agent_1', message: 'Reply with OK.', wait_for_reply: true });
    expect(sent.reply).toContain(DEFAULT_REPLY);

    // The stdio client sees the agents the HTTP client made.
    const status = await crew.ok('get_session_status', { session: session.session_id });
    expect(status.agents.map((a: any) => a.agent)).toEqual(['Agent_1', 'Agent_2']);

    // A third agent, deleted again over HTTP.
    await call('create_agent', { session: 'web' });
    expect((await call('delete_agent', { agent: 'Agent_3' })).deleted).toBe(true);
    expect((await crew.ok('list_sessions')).sessions[0].agents).toEqual(['Agent_1', 'Agent_2']);

    // The audit log names the HTTP client.
    const records = await tail(crew.dirs.logs, { limit: 10_000 });
    const calls = records.filter((r: any) => r.type === 'tool_call' && r.tool === 'create_session');
    expect(calls.map((r: any) => r.caller)).toContain('http-tests (http)');
  });

  it('the REST mirror answers with the tools’ structured results, and only with the token', async () => {
    const health = await (await get('/api/health', auth())).json();
    expect(health).toMatchObject({ status: 'ok', http_mcp_sessions: 1 });
    const sessions = await (await get('/api/sessions', auth())).json();
    expect(sessions.sessions[0]).toMatchObject({ name: 'web', agents: ['Agent_1', 'Agent_2'] });
    const one = await (await get(`/api/sessions/${sessions.sessions[0].session_id}`, auth())).json();
    expect(one.agents.map((a: any) => a.status)).toEqual(['idle', 'idle']);
    expect(one.agents[0].last_reply).toContain(DEFAULT_REPLY);
    // One agent: what get_session_status says of it; its screen at its own path.
    const agent = await (await get('/api/agents/Agent_1', auth())).json();
    const { agent: name, status, status_source, claude_session_id } = one.agents[0];
    expect(agent).toMatchObject({ agent: name, status, status_source, claude_session_id, session_id: one.session_id, session: 'web' });
    expect(agent.tokens).toBeDefined();
    const screen = await (await get('/api/agents/Agent_1/screen?lines=40', auth())).json();
    expect(screen).toMatchObject({ agent: 'Agent_1' });
    expect(screen.screen.length).toBeGreaterThan(0);
    expect((await get('/api/agents/Agent_9', auth())).status).toBe(404);
    expect((await get('/api/agents/Agent_9/screen', auth())).status).toBe(404);
  });

  it('names every object inherits are no dashboard file: a plain 404 that names no path', async () => {
    for (const name of ['constructor', '__proto__', 'toString']) {
      const res = await get(`/assets/${name}`);
      expect(res.status).toBe(404);
      const body = await res.text();
      expect(body).not.toContain(resolve(import.meta.dirname, '../..'));
      expect(body).not.toMatch(/npm run build in \//);
    }
  });

  it('a request without the token, with a wrong token, a wrong Host or a wrong Origin is refused without detail', async () => {
    for (const path of ['/api/health', '/api/sessions', '/mcp']) {
      const none = await get(path);
      expect(none.status).toBe(401);
      expect(await none.text()).toBe('');
      const wrong = await get(path, { authorization: 'Bearer tc_wrong' });
      expect(wrong.status).toBe(401);
      expect(await wrong.text()).toBe('');
    }
    expect((await get('/api/health', { ...auth(), origin: 'http://evil.example.com' })).status).toBe(403);
    // fetch() will not send a Host of its own choosing: a raw request does.
    const { request } = await import('node:http');
    const status = await new Promise<number>((done, fail) => {
      const req = request(`${url}/api/health`, { headers: { ...auth(), host: 'evil.example.com' } }, (res) => {
        res.resume();
        done(res.statusCode ?? 0);
      });
      req.on('error', fail);
      req.end();
    });
    expect(status).toBe(403);
    const refusals = (await tail(crew.dirs.logs, { limit: 10_000 })).filter((r: any) => r.type === 'refusal' && r.what === 'http_request');
    expect(refusals.length).toBeGreaterThan(0);
  });
});

describe('the dashboard in a real browser', () => {
  let context: BrowserContext;
  let page: Page;
  let step = 0;
  const shot = async (name: string) => {
    step++;
    await page.screenshot({ path: join(artifacts, `${String(step).padStart(2, '0')}-${name}.png`), fullPage: true });
  };

  beforeAll(async () => {
    context = await launchChromium(base);
    // Headless chromium shows no notifications: a stand-in records what the page raises.
    await context.addInitScript(() => {
      const w = window as unknown as { __notes: unknown[]; Notification: unknown };
      w.__notes = [];
      w.Notification = class {
        static permission = 'default';
        static async requestPermission() {
          (w.Notification as { permission: string }).permission = 'granted';
          return 'granted';
        }
        constructor(title: string, options: object) {
          w.__notes.push({ title, ...options });
        }
        close() {}
      };
    });
    page = context.pages()[0] ?? (await context.newPage());
  });

  afterAll(async () => {
    await context?.close();
  });

  it('without logging in, the page says how to log in', async () => {
    await page.goto(`${url}/`);
    await page.locator('#login').waitFor({ state: 'visible', timeout: 30_000 });
    await shot('not-logged-in');
  });

  it('the one-time link logs the browser in, and the two agents show as idle', async () => {
    const link = loginLink();
    await page.goto(link);
    await page.waitForURL(`${url}/`, { timeout: 30_000 });
    const cookies = await context.cookies(url);
    expect(cookies.find((c) => c.name === 'tabcrew_dashboard')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    await page.locator('.agent[data-agent="Agent_1"][data-status="idle"]').waitFor({ timeout: 120_000 });
    await page.locator('.agent[data-agent="Agent_2"][data-status="idle"]').waitFor({ timeout: 120_000 });
    await page.locator('#live.on').waitFor({ timeout: 30_000 });
    await shot('two-agents-idle');
    // Each card shows health and cost as words ("ok", "unpriced", "$0.0000"), never an object dumped as text.
    expect(await page.locator('.agent[data-agent="Agent_1"]').textContent()).toMatch(/(unpriced|\$[0-9.]+) ok/);
    expect(await page.locator('body').textContent()).not.toContain('[object Object]');
    // Spent: the same link does not log in a second time.
    expect((await fetch(link)).status).toBe(401);
  });

  it('an agent’s terminal shows its screen, and a message sent from the page gets its reply', async () => {
    await page.locator('.agent[data-agent="Agent_1"]').click();
    await page.locator('#terminal .xterm-rows').waitFor({ timeout: 30_000 });
    await page.waitForFunction(() => (document.querySelector('#terminal .xterm-rows')?.textContent ?? '').trim().length > 0, undefined, { timeout: 30_000 });
    await shot('agent-terminal');
    await page.locator('#message-form textarea').fill('The dashboard says hi: reply please.');
    await page.locator('#message-form button[type=submit]').click();
    await page.locator('#last-reply', { hasText: DASHBOARD_REPLY }).waitFor({ timeout: 180_000 });
    await page.waitForFunction((text) => (document.querySelector('#terminal .xterm-rows')?.textContent ?? '').includes(text), 'Hello from the mock', {
      timeout: 30_000,
    });
    await shot('reply-received');
    // The reply shows (screen, status feed) before the call that waited for it returns and is on record.
    await page.waitForFunction(() => !document.querySelector<HTMLButtonElement>('#message-form button[type=submit]')?.disabled, undefined, {
      timeout: 180_000,
    });
    const records = await tail(crew.dirs.logs, { limit: 10_000 });
    expect(records.some((r: any) => r.type === 'tool_call' && r.tool === 'send_message_to_agent' && r.caller === 'dashboard (http)')).toBe(true);
  });

  it('a long pasted message shows as the text pasted in the transcript, and the card shows whole words of the long reply', async () => {
    const message = Array.from({ length: 60 }, (_, i) => `${PASTE_MARK} line ${String(i).padStart(3, '0')} ${'y'.repeat(40)}`).join('\n');
    await page.locator('#message-form textarea').fill(message);
    await page.locator('#message-form input[name=wait]').uncheck();
    await page.locator('#message-form button[type=submit]').click();
    await page.locator('#last-reply', { hasText: 'Paragraph 12 of the long reply' }).waitFor({ timeout: 180_000 });
    // Opening the agent again reads its transcript, now with this turn.
    await page.locator('.agent[data-agent="Agent_1"]').click();
    await page.locator('#transcript', { hasText: `${PASTE_MARK} line 059` }).waitFor({ timeout: 30_000 });
    const transcript = (await page.locator('#transcript').textContent()) ?? '';
    expect(transcript).not.toContain('<pasted_content');
    expect(transcript).not.toContain('[ADDER+');
    // The card: the reply's start, cut at a word and marked, drawn as whole lines.
    const card = page.locator('.agent[data-agent="Agent_1"] .reply-excerpt');
    await card.filter({ hasText: 'Paragraph 1 of the long reply' }).waitFor({ timeout: 30_000 });
    const shown = (await card.textContent()) ?? '';
    expect(shown.endsWith('…')).toBe(true);
    expect(LONG_REPLY.startsWith(shown.slice(0, -1))).toBe(true);
    expect(LONG_REPLY[shown.length - 1]).toMatch(/\s/);
    // Drawn as whole lines, at most four: no line cut through the middle.
    const box = await card.evaluate((e) => {
      const cs = getComputedStyle(e);
      return {
        lines: (e.clientHeight - parseFloat(cs.paddingTop) - parseFloat(cs.paddingBottom)) / parseFloat(cs.lineHeight),
        clipped: e.scrollHeight > e.clientHeight,
      };
    });
    expect(box.clipped, JSON.stringify(box)).toBe(true);
    expect(Math.abs(box.lines - 4), JSON.stringify(box)).toBeLessThan(0.05);
    await shot('long-paste-and-reply');
  });

  it("Claude Code's footer glyphs (⏵⏵) are drawn with characters the page's fonts have", async () => {
    const { screen } = await (await get('/api/agents/Agent_1/screen', auth())).json();
    const rows = await page.waitForFunction(() => document.querySelector('#terminal .xterm-rows')?.textContent ?? '', undefined, { timeout: 30_000 });
    const text = String(await rows.jsonValue());
    for (const glyph of ['⏵', '⏺', '⎿', '⏸']) expect(text).not.toContain(glyph);
    if (screen.includes('⏵⏵')) expect(text).toContain('▸▸');
  });

  it('panels for tools this tabcrew lacks say so', async () => {
    const tools = (await (await get('/api/tools', auth())).json()).tools.map((t: any) => t.name);
    if (!tools.includes('coordinate_agents')) await expect(page.locator('#fanout-note').textContent()).resolves.toContain('Not available in this tabcrew');
    if (!tools.includes('list_pending_permissions'))
      await expect(page.locator('#permissions-list').textContent()).resolves.toContain('Not available in this tabcrew');
  });

  it('a fan-out of 3 runs coordinate_agents in parallel and shows three replies side by side', async (ctx) => {
    const tools = (await (await get('/api/tools', auth())).json()).tools.map((t: any) => t.name);
    if (!tools.includes('coordinate_agents')) return ctx.skip();
    await page.locator('#fanout-form select[name=session]').selectOption({ label: 'web' });
    await page.locator('#fanout-form textarea[name=prompt]').fill(FANOUT_PROMPT);
    await page.locator('#fanout-form input[name=n]').fill('3');
    await page.locator('#fanout-form button[type=submit]').click();
    await page.waitForFunction(
      (reply) => [...document.querySelectorAll('#fanout-results .result[data-agent]')].filter((r) => r.textContent?.includes(reply)).length === 3,
      FANOUT_REPLY,
      {
        timeout: 300_000,
      },
    );
    await shot('fanout-three-replies');
  });

  it('a pending permission request is answered from the page', async (ctx) => {
    const tools = (await (await get('/api/tools', auth())).json()).tools.map((t: any) => t.name);
    if (!tools.includes('list_pending_permissions') || !tools.includes('decide_permission')) return ctx.skip();
    const call = async (name: string, args: Record<string, unknown>) => {
      const r = await fetch(`${url}/api/tools/${name}`, {
        method: 'POST',
        headers: { ...auth(), 'content-type': 'application/json' },
        body: JSON.stringify({ arguments: args }),
      });
      expect(r.status).toBe(200);
      return r.json();
    };
    // The browser's notifications are asked for on a click (a user gesture), as browsers require.
    await page.locator('#alerts-toggle').click();
    await page.locator('#alerts-toggle[data-state="on"]').waitFor({ timeout: 10_000 });
    // Default mode is the one that asks (2.1.332 starts in auto mode unless told).
    const { agent } = await call('create_agent', { session: 'web', permission_mode: 'default' });
    permissionAgent = agent;
    await call('send_message_to_agent', { agent, message: PERMISSION_PROMPT });
    const request = page.locator(`.permission[data-agent="${agent}"]`);
    await request.waitFor({ timeout: 180_000 });
    await expect(request.textContent()).resolves.toContain('touch from-dashboard.txt');
    await shot('permission-pending');
    await request.locator('button', { hasText: 'Allow' }).click();
    await request.waitFor({ state: 'detached', timeout: 60_000 });
    await mock.waitFor((req) => {
      const content = lastUserContent(req);
      return Array.isArray(content) && content.some((b: any) => b?.type === 'tool_result' && b.tool_use_id === 'toolu_dash');
    }, 120_000);
    await shot('permission-allowed');
  });

  it('a question is answered with one tap on its option, and a plan shown as text is approved with one tap', async (ctx) => {
    const tools = (await (await get('/api/tools', auth())).json()).tools.map((t: any) => t.name);
    if (!tools.includes('answer_request')) return ctx.skip();
    const call = async (name: string, args: Record<string, unknown>) =>
      (
        await fetch(`${url}/api/tools/${name}`, {
          method: 'POST',
          headers: { ...auth(), 'content-type': 'application/json' },
          body: JSON.stringify({ arguments: args }),
        })
      ).json();
    const { agent } = await call('create_agent', { session: 'web', permission_mode: 'plan' });
    const resultFor = (id: string) => (req: any) => {
      const content = lastUserContent(req);
      return Array.isArray(content) && content.some((b: any) => b?.type === 'tool_result' && b.tool_use_id === id);
    };
    await call('send_message_to_agent', { agent, message: QUESTION_PROMPT });
    const question = page.locator(`.request-question[data-agent="${agent}"]`);
    await question.waitFor({ timeout: 180_000 });
    await expect(question.textContent()).resolves.toMatch(/Which color\?.*1\. Red.*warm.*2\. Blue.*cool/);
    await shot('question-pending');
    await question.locator('button.option', { hasText: 'Blue' }).click();
    const answered = await mock.waitFor(resultFor('toolu_dash_ask'), 120_000);
    expect(JSON.stringify(lastUserContent(answered))).toContain('\\"Which color?\\"=\\"Blue\\"');
    await question.waitFor({ state: 'detached', timeout: 60_000 });

    await call('send_message_to_agent', { agent, message: PLAN_PROMPT });
    const plan = page.locator(`.request-plan[data-agent="${agent}"]`);
    await plan.waitFor({ timeout: 180_000 });
    await expect(plan.locator('pre.plan').textContent()).resolves.toBe(PLAN_TEXT);
    await expect(plan.locator('pre.plan img').count()).resolves.toBe(0);
    await shot('plan-pending');
    await plan.locator('button', { hasText: 'Approve' }).click();
    const approved = await mock.waitFor(resultFor('toolu_dash_plan'), 120_000);
    expect(JSON.stringify(lastUserContent(approved))).toContain('approved your plan');
    await plan.waitFor({ state: 'detached', timeout: 60_000 });
  });

  it('the permission request reached --notify-url as exactly one POST with the documented fields and no secret, and the page raised one browser notification', async () => {
    for (let i = 0; i < 100 && !alertsOf(permissionAgent, 'permission').length; i++) await new Promise((r) => setTimeout(r, 100));
    // Seen by the hook, the screen and each look since: still one alert.
    await new Promise((r) => setTimeout(r, 2500));
    const sent = alertsOf(permissionAgent, 'permission');
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({
      event: 'permission',
      level: 'urgent',
      agent: permissionAgent,
      session: expect.any(String),
      link: `${url}/#agent=${permissionAgent}`,
    });
    for (const field of ['node', 'summary', 'action', 'time']) expect(typeof sent[0][field]).toBe('string');
    const post = posts.find((p) => JSON.parse(p.body).agent === permissionAgent)!;
    expect(post.type).toBe('application/json');
    for (const p of posts) for (const secret of [HOOK_TOKEN, token, home.env.ANTHROPIC_API_KEY ?? 'no-key']) expect(p.body).not.toContain(secret);
    // The operational log names the receiver by its origin, never by the token in its path.
    const opLog = readFileSync(join(crew.dirs.logs, 'tabcrew.log'), 'utf8');
    expect(opLog).toContain('alert sent');
    expect(opLog).not.toContain(HOOK_TOKEN);
    // The fan-out run that ended before it is one alert too (info), from the crew.
    const tools = (await (await get('/api/tools', auth())).json()).tools.map((t: any) => t.name);
    if (tools.includes('coordinate_agents'))
      expect(posts.map((p) => JSON.parse(p.body)).filter((a) => a.event === 'coordination_finished')).toMatchObject([{ agent: 'crew', level: 'info' }]);
    const notes = await page.evaluate(() => (window as unknown as { __notes: { title: string }[] }).__notes);
    expect(notes.filter((n) => n.title === `${permissionAgent} needs you: permission`)).toHaveLength(1);
  });

  it('deleting an agent asks for its name first', async () => {
    await page.locator('.agent[data-agent="Agent_2"]').click();
    await page.locator('#agent-delete').click();
    await page.locator('#confirm[open]').waitFor();
    await expect(page.locator('#confirm-ok').isDisabled()).resolves.toBe(true);
    await page.locator('#confirm-input').fill('Agent_2');
    await shot('delete-confirmation');
    await page.locator('#confirm-ok').click();
    await page.locator('.agent[data-agent="Agent_2"]').waitFor({ state: 'detached', timeout: 60_000 });
    await shot('agent-deleted');
    expect((await crew.ok('list_sessions')).sessions[0].agents).not.toContain('Agent_2');
  });

  it('a state-changing request with the cookie but without the CSRF token is refused', async () => {
    const r = await page.evaluate(async () => {
      const res = await fetch('/api/tools/clear_agent_conversation', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ arguments: { agent: 'Agent_1' } }),
      });
      return res.status;
    });
    expect(r).toBe(403);
    // The same request with the page's CSRF token goes through.
    const ok = await page.evaluate(async () => {
      const { csrf } = await (await fetch('/api/dashboard/session')).json();
      const res = await fetch('/api/tools/get_agent_output', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
        body: JSON.stringify({ arguments: { agent: 'Agent_1' } }),
      });
      return res.status;
    });
    expect(ok).toBe(200);
  });
});

describe('the dashboard on a phone (390×844)', () => {
  let browser: Browser;
  let phone: Page;

  beforeAll(async () => {
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run'] });
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    phone = await context.newPage();
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('with agents and a pending request shown nothing scrolls sideways, and one tap on Allow answers the request', async (ctx) => {
    if (!permissionAgent) return ctx.skip();
    await phone.goto(loginLink());
    await phone.waitForURL(`${url}/`, { timeout: 30_000 });
    await phone.locator(`.agent[data-agent="${permissionAgent}"]`).waitFor({ timeout: 60_000 });
    await crew.ok('send_message_to_agent', { agent: permissionAgent, message: PHONE_PROMPT });
    const request = phone.locator(`.permission[data-agent="${permissionAgent}"]`);
    await request.waitFor({ timeout: 180_000 });
    await expect(request.textContent()).resolves.toContain('touch from-phone.txt');
    // An agent opened too: its terminal keeps 120 columns inside its own box.
    await phone.locator('.agent[data-agent="Agent_1"]').click();
    await phone.locator('#terminal .xterm-rows').waitFor({ timeout: 30_000 });
    const width = await phone.evaluate(() => ({ scroll: document.scrollingElement!.scrollWidth, client: document.scrollingElement!.clientWidth }));
    expect(width.scroll, JSON.stringify(width)).toBeLessThanOrEqual(width.client);
    expect(width.client).toBe(390);
    // The waiting request comes first on a phone, above the crew.
    const [requestTop, crewTop] = await Promise.all([request.boundingBox(), phone.locator('#sessions').boundingBox()]);
    expect(requestTop!.y).toBeLessThan(crewTop!.y);
    await phone.screenshot({ path: join(artifacts, 'phone-permission-pending.png') });
    await request.locator('button', { hasText: 'Allow' }).tap();
    await request.waitFor({ state: 'detached', timeout: 60_000 });
    await mock.waitFor((req) => {
      const content = lastUserContent(req);
      return Array.isArray(content) && content.some((b: any) => b?.type === 'tool_result' && b.tool_use_id === 'toolu_phone');
    }, 120_000);
    // A second dialog is a second event: one more alert.
    for (let i = 0; i < 50 && alertsOf(permissionAgent, 'permission').length < 2; i++) await new Promise((r) => setTimeout(r, 100));
    expect(alertsOf(permissionAgent, 'permission')).toHaveLength(2);
  });
});
