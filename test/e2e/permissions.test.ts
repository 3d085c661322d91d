import { LoggingMessageNotificationSchema, ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tail } from '../../src/audit/audit-log.js';
import { claudeBin, makeClaudeHome } from '../support/claude-home.js';
import { mockedHome, tearDown } from '../support/e2e-world.js';
import {
  isConversationRequest,
  lastUserContent,
  lastUserText,
  startMockAnthropic,
  type MockAnthropic,
  type MockReplySpec,
  type RecordedRequest,
} from '../support/mock-anthropic.js';
import { startTabcrew, type Crew } from '../support/tabcrew.js';
import { COLOR_QUESTION } from '../support/questions.js';
import { until } from '../support/until.js';

/**
 * Permission requests answered over MCP, with the real Claude Code in default permission
 * mode: a scripted model asks for a Bash call that needs permission, the call shows up in
 * list_pending_permissions while Claude Code shows its own dialog, and the MCP client's
 * answer reaches the model as the tool's result.
 */
const root = realpathSync(mkdtempSync(join(tmpdir(), 'tabcrew-permissions-')));
const SECRET = 'hunter2-secret-value';
let mock: MockAnthropic;
let home: ReturnType<typeof makeClaudeHome>;
let crew: Crew;
let agent: string;
const logs: { logger?: string; data: any }[] = [];
const updated: string[] = [];

type ToolResult = { type: 'tool_result'; tool_use_id: string; is_error?: boolean; content: unknown };
const toolResults = (content: unknown): ToolResult[] => (Array.isArray(content) ? content.filter((b) => b?.type === 'tool_result') : []);
const textOf = (r: ToolResult): string =>
  typeof r.content === 'string' ? r.content : Array.isArray(r.content) ? r.content.map((b: { text?: string }) => b.text ?? '').join('') : '';
const resultFor = (id: string) => (req: RecordedRequest) => toolResults(lastUserContent(req)).some((r) => r.tool_use_id === id);

const CALLS: Record<string, { id: string; command: string }> = {
  'make the allowed file': { id: 'toolu_allow', command: `touch allowed.txt && TOKEN=${SECRET} echo allowed-output-4711` },
  'make the denied file': { id: 'toolu_deny', command: 'touch denied.txt && echo denied-output-4712' },
  'make the tab file': { id: 'toolu_tab', command: 'touch tab.txt && echo tab-output-4713' },
  'make the high file': { id: 'toolu_high', command: 'touch high.txt && echo high-output-4714' },
  'make the slow file': { id: 'toolu_slow', command: 'touch slow.txt && echo slow-output-4715' },
};

const QUESTION = COLOR_QUESTION;
const PLAN_TEXT = '# Plan\n\n1. Make a.txt\n2. Make <b>b.txt</b>\n';

/**
 * The scripted model of the questions and plans: "ask me a question" calls AskUserQuestion;
 * "draft plan N" writes the plan file Claude Code named (plan mode) and then calls
 * ExitPlanMode, which takes no argument: Claude Code adds the plan to its PermissionRequest.
 */
function questionOrPlan(req: RecordedRequest): MockReplySpec | undefined {
  const text = lastUserText(req) ?? '';
  if (text.includes('ask me a question'))
    return { text: 'A question.', toolUse: { id: 'toolu_ask', name: 'AskUserQuestion', input: { questions: [QUESTION] } } };
  if (text.includes('ask me again')) return { text: 'Again.', toolUse: { id: 'toolu_ask_tab', name: 'AskUserQuestion', input: { questions: [QUESTION] } } };
  const draft = /draft plan (\d)/.exec(text)?.[1];
  const planPath = [...JSON.stringify(req.body.messages).matchAll(/(\/[^"\s\\]+\/\.claude\/plans\/[\w.-]+\.md)/g)].at(-1)?.[1];
  if (draft && planPath)
    return { text: 'Writing the plan.', toolUse: { id: `toolu_pw${draft}`, name: 'Write', input: { file_path: planPath, content: PLAN_TEXT } } };
  const wrote = toolResults(lastUserContent(req)).find((r) => /^toolu_pw\d$/.test(r.tool_use_id));
  if (wrote) return { text: 'Done planning.', toolUse: { id: wrote.tool_use_id.replace('pw', 'pe'), name: 'ExitPlanMode', input: {} } };
  return undefined;
}

async function waitForRequest(kind: 'question' | 'plan'): Promise<any> {
  for (let i = 0; i < 240; i++) {
    const { requests } = await crew.ok('list_pending_requests', { kind });
    if (requests.length) return requests[0];
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`no pending ${kind} within 120 s`);
}

/** The agent's status once it is `want`, or the last one seen after 10 s. */
async function statusOf(name: string, want: string): Promise<string> {
  let now = '';
  for (let i = 0; i < 40 && now !== want; i++) {
    if (i) await new Promise((r) => setTimeout(r, 250));
    now = (await crew.ok('get_session_status', { session: 'perm' })).agents.find((a: { agent: string }) => a.agent === name)?.status;
  }
  return now;
}

async function waitForPending(n = 1, c = (): Crew => crew): Promise<any[]> {
  for (let i = 0; i < 240; i++) {
    const { requests } = await c().ok('list_pending_permissions', {});
    if (requests.length >= n) return requests;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error('no pending permission request within 120 s');
}

function listen(c: Crew): void {
  c.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push({ logger: n.params.logger, data: n.params.data }));
  c.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updated.push(n.params.uri));
}

beforeAll(async () => {
  mock = await startMockAnthropic();
  mock.setReply((req) => {
    if (!isConversationRequest(req)) return 'title';
    const scripted = questionOrPlan(req);
    if (scripted) return scripted;
    if (toolResults(lastUserContent(req)).length) return 'Done.';
    const text = mock.lastUserText(req) ?? '';
    const call = Object.entries(CALLS).find(([prompt]) => text.includes(prompt))?.[1];
    return call
      ? { text: 'Running it.', toolUse: { id: call.id, name: 'Bash', input: { command: call.command, description: 'Make a file' } } }
      : 'Nothing to do.';
  });
  home = mockedHome(mock, [root]);
  crew = await startTabcrew({ env: home.env, args: ['--claude-path', claudeBin] });
  listen(crew);
  await crew.ok('create_session', { root, name: 'perm' });
  // 2.1.332 starts in auto mode unless told: default mode is the one that asks.
  agent = (await crew.ok('create_agent', { session: 'perm', permission_mode: 'default' })).agent;
}, 300_000);

afterAll(() => tearDown([crew], mock, home, root));

describe('permission requests answered over MCP', () => {
  it('a Bash call waiting for permission is listed (redacted), announced, shown at the tab, and allow makes its output reach the model', async () => {
    await crew.ok('send_message_to_agent', { agent, message: 'make the allowed file' });
    const [request] = await waitForPending();
    expect(request).toMatchObject({ request_id: expect.stringMatching(/^p-[0-9a-f]{16}$/), agent, tool: 'Bash' });
    expect(request.input_summary).toContain('touch allowed.txt');
    expect(request.input_summary).not.toContain(SECRET);

    // The client heard of it, and the person at the tab sees Claude Code's own dialog meanwhile.
    for (let i = 0; i < 20 && !logs.some((l) => l.logger === 'tabcrew.permissions'); i++) await new Promise((r) => setTimeout(r, 250));
    expect(logs).toContainEqual({ logger: 'tabcrew.permissions', data: expect.objectContaining({ request_id: request.request_id, agent, tool: 'Bash' }) });
    const pending = await crew.client.readResource({ uri: 'tabcrew://permissions/pending' });
    expect(JSON.parse(String(pending.contents[0]!.text)).requests.map((r: { request_id: string }) => r.request_id)).toEqual([request.request_id]);
    const status = await crew.ok('get_session_status', { session: 'perm' });
    expect(status.agents[0].status).toBe('waiting_permission');
    // The hook reports the request before Claude Code has drawn its dialog: a moment later it is there.
    await until(
      'the dialog drawn at the tab',
      async () => (/Do you want to proceed\?/.test((await crew.ok('get_agent_output', { agent })).screen) ? true : undefined),
      10_000,
      100,
    );

    const decided = await crew.ok('decide_permission', { request_id: request.request_id, decision: 'allow' });
    expect(decided).toMatchObject({ request_id: request.request_id, agent, tool: 'Bash', decision: 'allow', taken: true });
    const next = await mock.waitFor(resultFor('toolu_allow'), 120_000);
    const result = toolResults(lastUserContent(next)).find((r) => r.tool_use_id === 'toolu_allow')!;
    expect(result.is_error).toBeFalsy();
    expect(textOf(result)).toContain('allowed-output-4711');
    expect(existsSync(join(root, 'allowed.txt'))).toBe(true);
    expect((await crew.ok('list_pending_permissions', {})).requests).toEqual([]);

    const again = await crew.call('decide_permission', { request_id: request.request_id, decision: 'deny' });
    expect(again.isError).toBe(true);
    expect(JSON.stringify(again.content)).toMatch(/already answered \(allow, by tabcrew-tests/);
  }, 300_000);

  it('a request still pending when tabcrew restarts is listed by the new server, and deny makes the denial reach the model', async () => {
    await crew.ok('send_message_to_agent', { agent, message: 'make the denied file' });
    const [request] = await waitForPending();
    expect(request.input_summary).toContain('touch denied.txt');

    // The hook keeps waiting while no tabcrew runs; the next one finds the request in its files.
    await crew.disconnect();
    crew = await startTabcrew({ env: home.env, args: ['--claude-path', claudeBin], dirs: crew.dirs, socket: crew.socket });
    listen(crew);
    const [again] = await waitForPending();
    expect(again.request_id).toBe(request.request_id);

    const decided = await crew.ok('decide_permission', { request_id: request.request_id, decision: 'deny', reason: 'not in this repo' });
    expect(decided).toMatchObject({ decision: 'deny', taken: true });
    const next = await mock.waitFor(resultFor('toolu_deny'), 120_000);
    const result = toolResults(lastUserContent(next)).find((r) => r.tool_use_id === 'toolu_deny')!;
    expect(result.is_error).toBe(true);
    expect(textOf(result)).toContain('not in this repo');
    expect(textOf(result)).not.toContain('denied-output-4712');
    expect(existsSync(join(root, 'denied.txt'))).toBe(false);
  }, 300_000);

  it('the person at the tab can answer the dialog too: the request then closes and a late decision is refused', async () => {
    await crew.ok('send_message_to_agent', { agent, message: 'make the tab file' });
    const [request] = await waitForPending();
    // The person at the tab presses Enter on Claude Code's own dialog ("1. Yes" is selected).
    const pane = crew.tmux('list-panes', '-a', '-F', '#{pane_id}').trim().split('\n')[0]!;
    // The hook holds the request as Claude Code draws its dialog: under load the dialog can come
    // after the request is listed, and an Enter before it would go to the input box instead.
    // A key that lands while the dialog is still being set up can be dropped (seen once in CI, the
    // dialog stayed open for 2 min): like a person, press Enter again while the dialog is still shown.
    const dialogShown = (): boolean => /Do you want to proceed\?/.test(crew.tmux('capture-pane', '-p', '-t', pane));
    for (let i = 0; i < 100 && !dialogShown(); i++) await new Promise((r) => setTimeout(r, 200));
    for (let press = 0; press < 4 && dialogShown(); press++) {
      crew.tmux('send-keys', '-t', pane, 'Enter');
      for (let i = 0; i < 25 && dialogShown(); i++) await new Promise((r) => setTimeout(r, 200));
    }
    const next = await mock.waitFor(resultFor('toolu_tab'), 120_000);
    expect(textOf(toolResults(lastUserContent(next)).find((r) => r.tool_use_id === 'toolu_tab')!)).toContain('tab-output-4713');
    let left: unknown[] = [request];
    for (let i = 0; i < 60 && left.length; i++) {
      await new Promise((r) => setTimeout(r, 500));
      left = (await crew.ok('list_pending_permissions', {})).requests;
    }
    expect(left).toEqual([]);
    const late = await crew.call('decide_permission', { request_id: request.request_id, decision: 'deny' });
    expect(late.isError).toBe(true);
    expect(JSON.stringify(late.content)).toMatch(/answered at the agent's tab/);
  }, 300_000);

  it('a decision for an unknown or malformed request id is refused', async () => {
    const unknown = await crew.call('decide_permission', { request_id: 'p-0123456789abcdef', decision: 'allow' });
    expect(unknown.isError).toBe(true);
    expect(JSON.stringify(unknown.content)).toMatch(/no request p-0123456789abcdef.*list_pending_requests/);
    const malformed = await crew.call('decide_permission', { request_id: '../../etc/passwd', decision: 'deny' });
    expect(malformed.isError).toBe(true);
    expect(JSON.stringify(malformed.content)).toMatch(/not a request id/);
  });

  it('every request and decision is in the audit log, with tool, agent, decision and who, never the secret', async () => {
    const records = await tail(crew.dirs.logs, { limit: 100_000 });
    const requests = records.filter((r) => r.type === 'permission_request');
    expect(requests).toHaveLength(3);
    for (const r of requests) expect(r).toMatchObject({ agent, tool: 'Bash', request_id: expect.stringMatching(/^p-/) });
    const decisions = records.filter((r) => r.type === 'permission_decision');
    expect(decisions.map((d) => [d.decision, d.by, d.tool, d.agent])).toEqual([
      ['allow', 'tabcrew-tests', 'Bash', agent],
      ['deny', 'tabcrew-tests', 'Bash', agent],
    ]);
    const everything = readdirSync(crew.dirs.logs)
      .map((f) => readFileSync(join(crew.dirs.logs, f), 'utf8'))
      .join('\n');
    expect(everything).not.toContain(SECRET);
    expect(records).toContainEqual(expect.objectContaining({ type: 'permission_closed', agent, tool: 'Bash', why: 'answered_at_tab' }));
  });
});

describe('questions and plan approvals answered over MCP', () => {
  it('a question shows as waiting_answer with its options, and the option answer_request picks reaches the model', async () => {
    await crew.ok('send_message_to_agent', { agent, message: 'ask me a question' });
    const request = await waitForRequest('question');
    expect(request).toMatchObject({
      kind: 'question',
      agent,
      tool: 'AskUserQuestion',
      questions: [
        {
          question: 'Which color?',
          header: 'Color',
          options: [
            { label: 'Red', description: 'warm' },
            { label: 'Blue', description: 'cool' },
          ],
          multi_select: false,
        },
      ],
    });
    expect(await statusOf(agent, 'waiting_answer')).toBe('waiting_answer');
    for (let i = 0; i < 20 && !logs.some((l) => l.logger === 'tabcrew.requests'); i++) await new Promise((r) => setTimeout(r, 250));
    expect(logs).toContainEqual({
      logger: 'tabcrew.requests',
      data: expect.objectContaining({ request_id: request.request_id, kind: 'question', answer_with: 'answer_request' }),
    });
    // list_pending_permissions keeps to permission dialogs.
    expect((await crew.ok('list_pending_permissions', {})).requests).toEqual([]);

    const answered = await crew.ok('answer_request', { request_id: request.request_id, choose: 'Blue' });
    expect(answered).toMatchObject({ kind: 'question', outcome: 'answered', answers: ['Blue'], taken: true });
    const next = await mock.waitFor(resultFor('toolu_ask'), 120_000);
    expect(textOf(toolResults(lastUserContent(next)).find((r) => r.tool_use_id === 'toolu_ask')!)).toContain('"Which color?"="Blue"');
    const again = await crew.call('answer_request', { request_id: request.request_id, choose: 'Red' });
    expect(JSON.stringify(again.content)).toMatch(/already answered \(allow, by tabcrew-tests/);
  }, 300_000);

  it('a question answered at the tab first closes its request, and answer_request is told so', async () => {
    await crew.ok('send_message_to_agent', { agent, message: 'ask me again' });
    const request = await waitForRequest('question');
    // The person at the tab presses Enter on Claude Code's own question ("1. Red" is selected).
    const panes = crew.tmux('list-panes', '-a', '-F', '#{pane_id}').trim().split('\n');
    // The question's own footer: its text stays on screen once answered.
    const shown = (pane: string): boolean => /Which color\?[\s\S]*Enter to select/.test(crew.tmux('capture-pane', '-p', '-t', pane));
    let pane: string | undefined;
    for (let i = 0; i < 100 && !pane; i++) {
      pane = panes.find(shown);
      if (!pane) await new Promise((r) => setTimeout(r, 200));
    }
    for (let press = 0; press < 4 && pane && shown(pane); press++) {
      crew.tmux('send-keys', '-t', pane, 'Enter');
      for (let i = 0; i < 25 && shown(pane); i++) await new Promise((r) => setTimeout(r, 200));
    }
    const next = await mock.waitFor(resultFor('toolu_ask_tab'), 120_000);
    expect(textOf(toolResults(lastUserContent(next)).find((r) => r.tool_use_id === 'toolu_ask_tab')!)).toContain('"Which color?"="Red"');
    let left: unknown[] = [request];
    for (let i = 0; i < 60 && left.length; i++) {
      await new Promise((r) => setTimeout(r, 500));
      left = (await crew.ok('list_pending_requests', {})).requests;
    }
    expect(left).toEqual([]);
    const late = await crew.call('answer_request', { request_id: request.request_id, choose: 'Blue' });
    expect(late.isError).toBe(true);
    expect(JSON.stringify(late.content)).toMatch(/can no longer be answered: it was answered at the agent's tab/);
  }, 300_000);

  it('a plan shows as waiting_plan_approval with its text; rejected, its feedback reaches the model; approved, the model hears so', async () => {
    const planner = (await crew.ok('create_agent', { session: 'perm', permission_mode: 'plan' })).agent;
    await crew.ok('send_message_to_agent', { agent: planner, message: 'draft plan 1' });
    const first = await waitForRequest('plan');
    expect(first).toMatchObject({ kind: 'plan', agent: planner, tool: 'ExitPlanMode', plan: PLAN_TEXT });
    expect(await statusOf(planner, 'waiting_plan_approval')).toBe('waiting_plan_approval');
    expect(await crew.ok('answer_request', { request_id: first.request_id, decision: 'reject', message: 'Use smaller steps' })).toMatchObject({
      outcome: 'rejected',
      taken: true,
    });
    const rejected = toolResults(lastUserContent(await mock.waitFor(resultFor('toolu_pe1'), 120_000))).find((r) => r.tool_use_id === 'toolu_pe1')!;
    expect(rejected.is_error).toBe(true);
    expect(textOf(rejected)).toContain('Use smaller steps');

    await crew.ok('send_message_to_agent', { agent: planner, message: 'draft plan 2' });
    const second = await waitForRequest('plan');
    expect(await crew.ok('answer_request', { request_id: second.request_id, decision: 'approve' })).toMatchObject({ outcome: 'approved', taken: true });
    const approved = toolResults(lastUserContent(await mock.waitFor(resultFor('toolu_pe2'), 120_000))).find((r) => r.tool_use_id === 'toolu_pe2')!;
    expect(approved.is_error).toBeFalsy();
    expect(textOf(approved)).toMatch(/approved your plan/);
    const records = await tail(crew.dirs.logs, { limit: 100_000 });
    expect(records).toContainEqual(expect.objectContaining({ type: 'permission_decision', kind: 'plan', decision: 'deny', reason: 'Use smaller steps' }));
  }, 300_000);
});

describe('permission requests at security level HIGH, with --permission-timeout', () => {
  let high: Crew;
  const asked: string[] = [];
  let answer = false;
  const highRoot = join(root, 'high');

  beforeAll(async () => {
    mkdirSync(highRoot);
    high = await startTabcrew({
      env: home.env,
      args: ['--claude-path', claudeBin, '--security-level', 'HIGH', '--allowed-root', root, '--permission-timeout', '20'],
      onElicit: (message) => {
        asked.push(message);
        return answer ? { action: 'accept', content: { confirm: true } } : { action: 'decline' };
      },
    });
    await high.ok('create_session', { root: highRoot, name: 'high' }, undefined);
  }, 300_000);

  afterAll(async () => {
    await high?.stop();
  });

  it('allow is confirmed by the person through elicitation; declined, the request stays pending', async () => {
    // At HIGH create_agent is confirmed too.
    answer = true;
    const a = (await high.ok('create_agent', { session: 'high', permission_mode: 'default' })).agent;
    await high.ok('send_message_to_agent', { agent: a, message: 'make the high file' });
    const [request] = await waitForPending(1, () => high);
    answer = false;
    asked.length = 0;
    const declined = await high.call('decide_permission', { request_id: request.request_id, decision: 'allow' });
    expect(declined.isError).toBe(true);
    expect(JSON.stringify(declined.content)).toMatch(/not confirmed/);
    expect(asked[0]).toMatch(new RegExp(`Allow decide_permission on ${a} Bash: touch high.txt`));
    expect((await high.ok('list_pending_permissions', { session: 'high' })).requests.map((r: { request_id: string }) => r.request_id)).toEqual([
      request.request_id,
    ]);

    answer = true;
    expect(await high.ok('decide_permission', { request_id: request.request_id, decision: 'allow' })).toMatchObject({ decision: 'allow', taken: true });
    const next = await mock.waitFor(resultFor('toolu_high'), 120_000);
    expect(textOf(toolResults(lastUserContent(next)).find((r) => r.tool_use_id === 'toolu_high')!)).toContain('high-output-4714');
  }, 300_000);

  it("with no answer within --permission-timeout the request closes and only the agent's own dialog is left", async () => {
    const a = (await high.ok('list_sessions', {})).sessions[0].agents[0];
    await high.ok('send_message_to_agent', { agent: a, message: 'make the slow file' });
    const [request] = await waitForPending(1, () => high);
    let left: unknown[] = [request];
    for (let i = 0; i < 120 && left.length; i++) {
      await new Promise((r) => setTimeout(r, 500));
      left = (await high.ok('list_pending_permissions', {})).requests;
    }
    expect(left).toEqual([]);
    await until(
      'the dialog drawn at the tab',
      async () => (/Do you want to proceed\?/.test((await high.ok('get_agent_output', { agent: a })).screen) ? true : undefined),
      10_000,
      100,
    );
    expect((await high.ok('get_session_status', { session: 'high' })).agents[0].status).toBe('waiting_permission');
    const late = await high.call('decide_permission', { request_id: request.request_id, decision: 'deny' });
    expect(late.isError).toBe(true);
    expect(JSON.stringify(late.content)).toMatch(/no decision came within --permission-timeout/);
    expect(mock.requests.some(resultFor('toolu_slow'))).toBe(false);
  }, 300_000);
});
