import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tail, verify } from '../../src/audit/audit-log.js';
import { LoggingMessageNotificationSchema, ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTrusted } from '../../src/claude/trust.js';
import { claudeBin, makeClaudeHome } from '../support/claude-home.js';
import { mockedHome, tearDown } from '../support/e2e-world.js';
import { isConversationRequest, lastUserContent, startMockAnthropic, type MockAnthropic, type RecordedRequest } from '../support/mock-anthropic.js';
import { startTabcrew, type Crew } from '../support/tabcrew.js';
import { BACKENDS, terminalFixture, type TerminalFixture } from '../support/terminal-fixture.js';

/**
 * The core scenario with real Claude Code agents (npm) against a mock Anthropic API on
 * 127.0.0.1, in a throw-away HOME, driven through the MCP SDK client over stdio — once
 * per terminal backend: tmux, iTerm2 (the emulator on PATH running the real JXA files),
 * and the in-process PTY.
 */
const base = realpathSync(mkdtempSync(join(tmpdir(), 'tabcrew-e2e-')));
const rootFor = (backend: string): string => join(base, `app-${backend}`);
let mock: MockAnthropic;
let home: ReturnType<typeof makeClaudeHome>;

beforeAll(async () => {
  for (const b of BACKENDS) mkdirSync(rootFor(b));
  mock = await startMockAnthropic();
  home = mockedHome(mock, BACKENDS.map(rootFor));
});

afterAll(() => tearDown([], mock, home, base));

const text = (req: RecordedRequest): string => mock.lastUserText(req) ?? '';

describe.each(BACKENDS)('a session of real Claude Code agents (%s)', (backend) => {
  let fixture: TerminalFixture;
  let crew: Crew;
  let sessionId: string;
  const trustedRoot = rootFor(backend);
  const start = (dirs?: Crew['dirs'], socket?: string) =>
    startTabcrew({ env: fixture.env(home.env), args: ['--claude-path', claudeBin, ...fixture.args], dirs, socket });

  beforeAll(async () => {
    fixture = terminalFixture(backend, base);
    crew = await start();
    sessionId = (await crew.ok('create_session', { root: trustedRoot, name: 'app' })).session_id;
  });

  afterAll(async () => {
    await crew?.stop();
    fixture?.stop();
  });

  it('three agents created in one session each reach idle, in three tabs', async () => {
    const progress: string[] = [];
    const created = [];
    const runsPerCreate: number[] = [];
    for (let i = 0; i < 3; i++) {
      const before = fixture.osascriptRuns?.() ?? 0;
      created.push(await crew.ok('create_agent', { session: 'app', role: `worker ${i}` }, (m) => progress.push(m)));
      runsPerCreate.push((fixture.osascriptRuns?.() ?? 0) - before);
    }
    expect(created.map((a) => a.agent)).toEqual(['Agent_1', 'Agent_2', 'Agent_3']);
    for (const a of created) {
      expect(a).toMatchObject({ session_id: sessionId, status: 'idle', backend });
      expect(a.claude_session_id).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(progress.some((m) => /waiting for Claude Code to start/.test(m))).toBe(true);
    expect(await fixture.tabs(crew)).toEqual(['Agent_1', 'Agent_2', 'Agent_3']);
    const status = await crew.ok('get_session_status', { session: sessionId });
    expect(status.agents.map((a: { status: string }) => a.status)).toEqual(['idle', 'idle', 'idle']);
    expect(status.agents[0].status_source).toBe('hook');
    if (fixture.osascriptRuns) {
      // Each osascript run costs 100–300 ms on a Mac: count them.
      expect(Math.max(...runsPerCreate)).toBeLessThanOrEqual(2);
      // One status call is one run; the keeper's own round (every 3 s) may land inside a window
      // and add its run, so the fewest of three windows is the status call's own cost.
      const perStatus: number[] = [];
      for (let i = 0; i < 3; i++) {
        const before = fixture.osascriptRuns();
        await crew.ok('get_session_status', { session: sessionId });
        perStatus.push(fixture.osascriptRuns() - before);
      }
      expect(Math.min(...perStatus)).toBe(1);
    }
  });

  it('a message with hostile characters and three lines reaches the API byte for byte', async () => {
    const message = [
      `He said "hi" and 'bye' \\ back\\slash $(rm -rf /) ; echo done; \`whoami\``,
      'emoji 🚀👩‍💻 and right-to-left: שלום עולם مرحبا',
      `tab\there; ends with a semicolon (${backend});`,
    ].join('\n');
    const sent = await crew.ok('send_message_to_agent', { agent: 'Agent_1', message, prepend_protocol: false });
    expect(sent).toMatchObject({ agent: 'Agent_1', delivered: 'confirmed' });
    const req = await mock.waitFor((r) => text(r).includes(`ends with a semicolon (${backend})`), 30_000);
    // Claude Code itself turns a tab into four spaces; nothing else may change.
    expect(text(req)).toBe(message.replace('\t', '    '));
  });

  it('escape sequences and NUL in a message reach the agent as visible characters, never as control codes', async () => {
    const message = `${backend} before \u001b[201~ after-paste-end \u001b]0;retitled\u0007 nul:\u0000 bell:\u0007 end`;
    const sent = await crew.ok('send_message_to_agent', { agent: 'Agent_1', message, prepend_protocol: false });
    expect(sent.delivered).toBe('confirmed');
    const req = await mock.waitFor((r) => text(r).includes(`${backend} before`), 30_000);
    expect(text(req)).toBe(`${backend} before ␛[201~ after-paste-end ␛]0;retitled␇ nul:␀ bell:␇ end`);
  });

  it('a 5 KB message arrives whole, after the one-line ADDER+ header', async () => {
    const message = Array.from({ length: 110 }, (_, i) => `line ${String(i).padStart(3, '0')} ${backend} ${'x'.repeat(40)}`).join('\n');
    expect(Buffer.byteLength(message)).toBeGreaterThan(5 * 1024);
    const sent = await crew.ok('send_message_to_agent', { agent: 'Agent_2', message });
    expect(sent.delivered).toBe('confirmed');
    const req = await mock.waitFor((r) => text(r).includes(`line 109 ${backend}`), 30_000);
    // 2.1.332 hands a large paste to the model wrapped: "\n\n<pasted_content id="781f">\n…\n</pasted_content id="781f">\n".
    const received = text(req).replace(/^\s*<pasted_content id="(\w+)">\n([\s\S]*)\n<\/pasted_content id="\1">\s*$/, '$2');
    expect(received).toBe(`[ADDER+ from supervisor to Agent_2 · session app · delivery ${sent.delivery_id}]\n${message}`);
  });

  it('wait_for_reply returns the reply, and status goes idle → busy → idle', async () => {
    mock.setReply((req) => ({ text: `Reply to: ${text(req).split('\n').pop()}`, delayMs: 3000 }));
    const before = await crew.ok('get_session_status', { session: 'app' });
    expect(before.agents[2].status).toBe('idle');
    const reply = crew.ok('send_message_to_agent', { agent: 'Agent_3', message: 'What is 2+2?', wait_for_reply: true });
    let sawBusy = false;
    for (let i = 0; i < 40 && !sawBusy; i++) {
      await new Promise((r) => setTimeout(r, 250));
      const s = await crew.ok('get_session_status', { session: 'app' });
      sawBusy = s.agents[2].status === 'busy';
    }
    const result = await reply;
    mock.setReply((req) => `Reply to: ${text(req).split('\n').pop()}`);
    expect(sawBusy).toBe(true);
    expect(result).toMatchObject({ delivered: 'confirmed', reply: 'Reply to: What is 2+2?' });
    const after = await crew.ok('get_session_status', { session: 'app' });
    expect(after.agents[2]).toMatchObject({ status: 'idle', last_reply: 'Reply to: What is 2+2?' });
    expect(after.agents[2].tokens.output).toBeGreaterThan(0);
    const output = await crew.ok('get_agent_output', { agent: 'Agent_3', lines: 50 });
    expect(output.screen).toContain('Reply to: What is 2+2?');
    expect(output.last_reply).toBe('Reply to: What is 2+2?');
  });

  it('a status subscription hears when an agent gets busy, and the change arrives as a log message', async () => {
    const updates: string[] = [];
    const logs: { agent?: string; to?: string }[] = [];
    crew.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updates.push(n.params.uri));
    crew.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(n.params.data as { agent?: string }));
    const uri = `tabcrew://sessions/${sessionId}/status`;
    await crew.client.subscribeResource({ uri });
    mock.setReply((req) => ({ text: `Reply to: ${text(req).split('\n').pop()}`, delayMs: 3000 }));
    const reply = await crew.ok('send_message_to_agent', { agent: 'Agent_2', message: 'slow one', wait_for_reply: true });
    mock.setReply((req) => `Reply to: ${text(req).split('\n').pop()}`);
    expect(reply.reply).toBe('Reply to: slow one');
    expect(updates).toContain(uri);
    expect(logs).toContainEqual(expect.objectContaining({ agent: 'Agent_2', from: 'idle', to: 'busy', source: 'hook' }));
    await crew.client.unsubscribeResource({ uri });
  });

  it("resources show an agent's recent turns, its screen, and the session TODO.md", async () => {
    writeFileSync(join(trustedRoot, 'TODO.md'), '- [ ] Fix login (Agent_2)\n- [x] Write tests (Agent_2)\n- [ ] Unclaimed\n');
    const read = async (uri: string) => ((await crew.client.readResource({ uri })).contents[0] as { text: string }).text;
    const transcript = JSON.parse(await read('tabcrew://agents/Agent_2/transcript'));
    expect(transcript.turns.at(-1)).toEqual({ prompt: expect.stringContaining('slow one'), reply: 'Reply to: slow one' });
    expect(await read('tabcrew://agents/Agent_2/screen')).toContain('Reply to: slow one');
    expect(await read(`tabcrew://sessions/${sessionId}/todo`)).toContain('Fix login (Agent_2)');
    const status = await crew.ok('get_session_status', { session: 'app' });
    expect(status.todo).toMatchObject({ open: 2, done: 1 });
    expect(status.agents[1].tasks).toEqual({ open: 1, done: 1 });
    const { resources } = await crew.client.listResources();
    expect(resources.map((r) => r.uri)).toContain('tabcrew://agents/Agent_3/screen');
  });

  it('clear then start_new gives a new claude_session_id under the same name', async () => {
    const before = (await crew.ok('get_session_status', { session: 'app' })).agents[0].claude_session_id;
    expect(await crew.ok('clear_agent_conversation', { agent: 'Agent_1' })).toMatchObject({ agent: 'Agent_1', status: 'cleared' });
    expect(await fixture.tabs(crew)).not.toContain('Agent_1');
    const cleared = (await crew.ok('get_session_status', { session: 'app' })).agents[0];
    expect(cleared).toMatchObject({ agent: 'Agent_1', status: 'cleared', claude_session_id: null });
    const fresh = await crew.ok('start_new_agent_conversation', { agent: 'Agent_1' });
    expect(fresh).toMatchObject({ agent: 'Agent_1', status: 'idle' });
    expect(fresh.claude_session_id).not.toBe(before);
    expect(await fixture.tabs(crew)).toContain('Agent_1');
  });

  // PTY tabs belong to the server process and end with it (documented).
  it.skipIf(backend === 'pty')('agents outlive the server, and a later tabcrew finds them again', async () => {
    const dirs = crew.dirs;
    await crew.disconnect();
    expect(await fixture.tabs(crew)).toEqual(['Agent_1', 'Agent_2', 'Agent_3']);
    crew = await start(dirs, crew.socket);
    const status = await crew.ok('get_session_status', { session: 'app' });
    expect(status.agents.map((a: { agent: string; status: string }) => `${a.agent}:${a.status}`)).toEqual(['Agent_1:idle', 'Agent_2:idle', 'Agent_3:idle']);
    const sent = await crew.ok('send_message_to_agent', { agent: 'Agent_2', message: 'still there?', wait_for_reply: true });
    expect(sent.delivered).toBe('confirmed');
  });

  it('the audit log of the whole scenario verifies, and holds no message text', async () => {
    const result = await verify(crew.dirs.logs);
    expect(result.ok).toBe(true);
    const records = await tail(crew.dirs.logs, { limit: 100_000 });
    expect(records.filter((r) => r.type === 'tool_call').length).toBeGreaterThan(20);
    expect(records).toContainEqual(expect.objectContaining({ type: 'status_change', agent: 'Agent_2', to: 'busy', source: 'hook' }));
    const everything = readdirSync(crew.dirs.logs)
      .map((f) => readFileSync(join(crew.dirs.logs, f), 'utf8'))
      .join('\n');
    for (const sent of ['What is 2+2?', 'ends with a semicolon', 'slow one', 'line 109']) expect(everything).not.toContain(sent);
  });

  it('delete_session leaves no window and keeps the transcripts', async () => {
    const r = await crew.ok('delete_session', { session: 'app' });
    expect(r).toMatchObject({ deleted: true, agents_deleted: ['Agent_1', 'Agent_2', 'Agent_3'] });
    expect(await fixture.tabs(crew)).toEqual([]);
    expect((await crew.ok('list_sessions')).sessions).toEqual([]);
  });
});

describe('limits and first runs', () => {
  let limited: Crew;
  const untrusted = join(base, 'never-trusted');
  const windows = (c: Crew): string[] => c.windows();

  beforeAll(async () => {
    mkdirSync(untrusted);
    limited = await startTabcrew({ env: home.env, args: ['--claude-path', claudeBin, '--max-agents', '2'] });
    await limited.ok('create_session', { root: untrusted, name: 'fresh' });
  });
  afterAll(async () => limited?.stop());

  it('an agent in a never-trusted root still ends at idle, and says how the trust dialog was handled', async () => {
    expect(await isTrusted(untrusted, home.env)).toBe(false);
    // `default` asks before a tool runs on every version (2.1.332's own default is auto mode,
    // which lets a classifier approve tools): the permission-dialog test below needs a dialog.
    const a = await limited.ok('create_agent', { session: 'fresh', permission_mode: 'default' });
    expect(a).toMatchObject({ agent: 'Agent_1', status: 'idle', trust: 'accepted_by_tabcrew' });
    // The answer was "Yes, I trust this folder" (on 2.1.332 an Enter on its default "No, exit" ends Claude Code).
    expect(await isTrusted(untrusted, home.env)).toBe(true);
  });

  it('a third agent beyond --max-agents 2 is refused with a message naming the flag', async () => {
    expect(await limited.ok('create_agent', { session: 'fresh' })).toMatchObject({ agent: 'Agent_2', trust: 'already_trusted' });
    const r = await limited.call('create_agent', { session: 'fresh' });
    expect(r.isError).toBe(true);
    expect((r.content as { text: string }[])[0].text).toMatch(/--max-agents \(2\)/);
  });

  it('a message is never typed into a permission dialog', async () => {
    const marker = join(untrusted, 'tool-ran');
    mock.setReply((req) => {
      const content = lastUserContent(req);
      const toolResult = Array.isArray(content) && content.some((b: { type?: string }) => b?.type === 'tool_result');
      if (isConversationRequest(req) && !toolResult && text(req).includes('please run the tool')) {
        return { text: 'Running it.', toolUse: { name: 'Bash', input: { command: `touch ${marker}`, description: 'touch' } } };
      }
      return 'Done.';
    });
    const asked = await limited.ok('send_message_to_agent', { agent: 'Agent_1', message: 'please run the tool' });
    expect(asked.delivered).toBe('confirmed');
    let status = '';
    for (let i = 0; i < 40 && status !== 'waiting_permission'; i++) {
      await new Promise((r) => setTimeout(r, 250));
      status = (await limited.ok('get_session_status', { session: 'fresh' })).agents[0].status;
    }
    expect(status).toBe('waiting_permission');
    // An Enter typed into this dialog would approve the tool: nothing may be typed.
    const r = await limited.call('send_message_to_agent', { agent: 'Agent_1', message: 'hello?', idle_wait_s: 2 });
    expect(r.isError).toBe(true);
    expect((r.content as { text: string }[])[0].text).toMatch(/nothing was typed/);
    expect(existsSync(marker)).toBe(false);
    const screen = (await limited.ok('get_agent_output', { agent: 'Agent_1', lines: 40 })).screen;
    expect(screen).toMatch(/Do you want to proceed\?/);
    // Deleting the agent dismisses the dialog (Esc) rather than approving it.
    await limited.ok('delete_agent', { agent: 'Agent_1' });
    expect(existsSync(marker)).toBe(false);
    mock.setReply(() => 'OK from mock.');
  });

  it('a message starting with ! is delivered as a message, never run as a shell command', async () => {
    const marker = join(untrusted, 'shell-ran');
    const message = `!touch ${marker}`;
    const sent = await limited.ok('send_message_to_agent', { agent: 'Agent_2', message, prepend_protocol: false });
    expect(sent.delivered).toBe('confirmed');
    const req = await mock.waitFor((q) => text(q).includes('shell-ran'), 30_000);
    expect(text(req)).toBe(` ${message}`);
    expect(existsSync(marker)).toBe(false);
  });

  it('delete_agent closes the window and returns the transcript path', async () => {
    const r = await limited.ok('delete_agent', { agent: 'Agent_2' });
    expect(r).toMatchObject({ agent: 'Agent_2', deleted: true });
    expect(r.transcript_path).toMatch(/\.jsonl$/);
    expect(windows(limited)).toEqual([]);
  });
});
