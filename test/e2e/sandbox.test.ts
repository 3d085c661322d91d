import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claudeBin, makeClaudeHome } from '../support/claude-home.js';
import { mockedHome, tearDown } from '../support/e2e-world.js';
import { isConversationRequest, lastUserContent, startMockAnthropic, type MockAnthropic, type MockReplySpec } from '../support/mock-anthropic.js';
import { startTabcrew, waitForExit, type Crew } from '../support/tabcrew.js';
import { until } from '../support/until.js';

/**
 * The OS sandbox (bubblewrap) with the real Claude Code: an agent started before session B
 * exists is made, by a scripted model, to reach B's files, tabcrew's own folders and
 * another agent's runtime folder in ways no command reader can see (a path built at run
 * time, a script that opens the file itself, `cd ..`, a symlink). Security level LOW: the
 * PreToolUse boundary hook is off, so what stops each call is the sandbox.
 */
const bwrapWorks = (() => {
  try {
    execFileSync('bwrap', ['--ro-bind', '/', '/', '--unshare-pid', '--proc', '/proc', '--dev', '/dev', '--', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const base = realpathSync(mkdtempSync(join(tmpdir(), 'tabcrew-sandbox-')));
const own = join(base, 'own');
const other = join(base, 'app[1]');
const SECRET = 'the-secret-of-session-b';
// Shared by the person: with every agent (--sandbox-allow, read-only), and with one agent (sandbox_extra_paths, read-write).
const allowed = join(base, 'shared-docs');
const cache = join(base, 'cache');
let mock: MockAnthropic;
let home: ReturnType<typeof makeClaudeHome>;
let crew: Crew;
let firstAgentSession = '';

type ToolResult = { type: 'tool_result'; tool_use_id: string; is_error?: boolean; content: unknown };
const toolResults = (content: unknown): ToolResult[] => (Array.isArray(content) ? content.filter((b) => b?.type === 'tool_result') : []);
const textOf = (r: ToolResult): string =>
  typeof r.content === 'string' ? r.content : Array.isArray(r.content) ? r.content.map((b: { text?: string }) => b.text ?? '').join('') : '';
const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd, encoding: 'utf8' });

beforeAll(async () => {
  if (!bwrapWorks) return;
  mkdirSync(own);
  writeFileSync(join(own, 'notes.txt'), 'own notes\n');
  mkdirSync(allowed);
  writeFileSync(join(allowed, 'guide.txt'), 'the shared guide\n');
  mkdirSync(cache);
  git(own, 'init', '-q');
  git(own, 'add', '.');
  git(own, 'commit', '-qm', 'start');
  mock = await startMockAnthropic();
  home = mockedHome(mock, [own, other]);
  crew = await startTabcrew({ env: home.env, args: ['--claude-path', claudeBin, '--security-level', 'LOW', '--sandbox', 'on', '--sandbox-allow', allowed] });
});

afterAll(() => tearDown([crew], mock, home, base));

describe.skipIf(!bwrapWorks)('the OS sandbox (bubblewrap), hook off', () => {
  it("an agent started before session B cannot reach B's files, tabcrew's folders or another agent's, by any route, and still does its own work", async () => {
    await crew.ok('create_session', { root: own, name: 'own' });
    // Bypass: Claude Code itself asks about nothing, so the sandbox alone stands in the way.
    const agent = await crew.ok('create_agent', { session: 'own', permission_mode: 'bypassPermissions' });
    expect(agent.status).toBe('idle');
    firstAgentSession = agent.claude_session_id;

    // Session B, and an agent of it, appear only now.
    mkdirSync(other);
    writeFileSync(join(other, 'secret.txt'), `${SECRET}\n`);
    await crew.ok('create_session', { root: other, name: 'b' });
    const agentB = await crew.ok('create_agent', { session: 'b' });
    const bDir = join(crew.dirs.runtime, 'agents', agentB.claude_session_id);
    const bSecret = readFileSync(join(bDir, 'agent-secret'), 'utf8');
    expect(bSecret.length).toBeGreaterThan(10);
    const stateEntries = readdirSync(crew.dirs.state);
    const logEntries = readdirSync(crew.dirs.logs);
    expect(stateEntries.length).toBeGreaterThan(0);
    expect(logEntries.length).toBeGreaterThan(0);

    const python = existsSync('/usr/bin/python3')
      ? `python3 -c 'print(open("${other}/secret.txt").read())'`
      : `node -e 'console.log(require("fs").readFileSync("${other}/secret.txt","utf8"))'`;
    const bash = (id: string, command: string) => ({ id, name: 'Bash', input: { command, description: 'Run a command' } });
    const attempts: MockReplySpec['toolUse'][] = [
      { id: 'toolu_read_b', name: 'Read', input: { file_path: join(other, 'secret.txt') } },
      bash('toolu_cat_b', `cat '${other}/secret.txt'`),
      // The path exists only once the shell has run: no reader of the command sees it.
      bash('toolu_built_b', `cat "$(printf '%s/%s' '${base}' 'app[1]')/secret.txt"`),
      bash('toolu_script_b', python),
      bash('toolu_cd_up', `cd .. && cat 'app[1]/secret.txt'`),
      bash('toolu_relative_b', `cat 'app[1]/secret.txt' ../'app[1]'/secret.txt`),
      bash('toolu_symlink_b', `ln -s '${other}' link-to-b && cat link-to-b/secret.txt`),
      bash('toolu_state', `ls -A '${crew.dirs.state}'; cat '${crew.dirs.state}'/*`),
      bash('toolu_logs', `ls -A '${crew.dirs.logs}'; cat '${crew.dirs.logs}'/*`),
      bash('toolu_agents', `ls -A '${join(crew.dirs.runtime, 'agents')}'`),
      bash('toolu_agent_b', `cat '${bDir}/agent-secret'`),
    ];
    const ownWork: MockReplySpec['toolUse'][] = [
      { id: 'toolu_read_own', name: 'Read', input: { file_path: join(own, 'notes.txt') } },
      bash(
        'toolu_own_work',
        `echo mine > mine.txt && git add mine.txt && git -c user.name=a -c user.email=a@example.com commit -qm mine && git log --format=%s -1 && node -e 'console.log("node says", 6*7)'`,
      ),
    ];
    const script = [...attempts, ...ownWork];
    mock.setReply((req) => {
      if (!isConversationRequest(req)) return 'title';
      const answered = toolResults(lastUserContent(req))[0];
      if (!answered) return mock.lastUserText(req)?.includes('probe the sandbox') ? { text: 'Trying.', toolUse: script[0] } : 'Finished.';
      const next = script[script.findIndex((s) => s!.id === answered.tool_use_id) + 1];
      return next ? { text: 'Trying.', toolUse: next } : 'Finished.';
    });
    const sent = await crew.ok('send_message_to_agent', { agent: agent.agent, message: 'probe the sandbox', wait_for_reply: true, timeout_s: 240 });
    expect(sent).toMatchObject({ delivered: 'confirmed' });
    // The proof is in what reached the model: wait until the last call's result did.
    await until(
      'the agent to run its whole script',
      async () => mock.conversationRequests().some((req) => toolResults(lastUserContent(req)).some((r) => r.tool_use_id === 'toolu_own_work')) || undefined,
      120_000,
    );

    const results = new Map<string, ToolResult>();
    for (const req of mock.conversationRequests()) for (const r of toolResults(lastUserContent(req))) results.set(r.tool_use_id, r);
    for (const a of attempts) {
      const r = results.get(a!.id!);
      expect(r, a!.id).toBeDefined();
      const text = textOf(r!);
      expect(text, a!.id).not.toContain(SECRET);
      expect(text, a!.id).not.toContain(bSecret);
    }
    for (const id of [
      'toolu_read_b',
      'toolu_cat_b',
      'toolu_built_b',
      'toolu_script_b',
      'toolu_cd_up',
      'toolu_relative_b',
      'toolu_symlink_b',
      'toolu_agent_b',
    ]) {
      expect(textOf(results.get(id)!), id).toMatch(/No such file|not exist|ENOENT|FileNotFoundError/i);
    }
    // tabcrew's folders show empty: none of their files is even named.
    for (const [id, names] of [
      ['toolu_state', stateEntries],
      ['toolu_logs', logEntries],
      ['toolu_agents', [agentB.claude_session_id]],
    ] as const) {
      for (const name of names) expect(textOf(results.get(id)!), `${id} ${name}`).not.toContain(name);
    }
    // B's content never reached the model, in any request.
    for (const req of mock.requests) expect(req.rawBody).not.toContain(SECRET);

    // Its own work: read, write, commit, node.
    expect(textOf(results.get('toolu_read_own')!)).toContain('own notes');
    const work = results.get('toolu_own_work')!;
    expect(work.is_error, textOf(work)).toBeFalsy();
    expect(textOf(work)).toContain('node says 42');
    expect(git(own, 'log', '--format=%s', '-1').trim()).toBe('mine');

    await until('the sandbox line on stderr', async () => (crew.stderr().includes('every agent runs in bubblewrap') ? true : undefined), 10_000, 100);
    const status = await crew.ok('get_session_status', { session: 'own' });
    expect(status.agents[0].sandbox.kind).toBe('bubblewrap');
    expect(status.agents[0].sandbox.paths.write).toContain(own);
    expect(status.agents[0].sandbox.paths.hidden).toEqual(expect.arrayContaining([realpathSync(crew.dirs.state), realpathSync(crew.dirs.logs)]));
  });
});

/** Scripts the mock: a message holding a trigger starts its calls, each tool result asks for the next one, then "Finished.". */
function script(byTrigger: Record<string, MockReplySpec['toolUse'][]>): void {
  mock.setReply((req) => {
    if (!isConversationRequest(req)) return 'title';
    const answered = toolResults(lastUserContent(req))[0];
    if (!answered) {
      const calls = Object.entries(byTrigger).find(([trigger]) => mock.lastUserText(req)?.includes(trigger))?.[1];
      return calls ? { text: 'Trying.', toolUse: calls[0] } : 'Finished.';
    }
    const calls = Object.values(byTrigger).find((c) => c.some((x) => x!.id === answered.tool_use_id)) ?? [];
    const next = calls[calls.findIndex((x) => x!.id === answered.tool_use_id) + 1];
    return next ? { text: 'Trying.', toolUse: next } : 'Finished.';
  });
}
const bash = (id: string, command: string) => ({ id, name: 'Bash', input: { command, description: 'Run a command' } });
const resultsById = (): Map<string, ToolResult> => {
  const results = new Map<string, ToolResult>();
  for (const req of mock.conversationRequests()) for (const r of toolResults(lastUserContent(req))) results.set(r.tool_use_id, r);
  return results;
};

describe.skipIf(!bwrapWorks)('recovery of a sandboxed agent', () => {
  it('after its tmux server dies, the agent is resumed in bubblewrap, in its conversation, and the sandbox still holds', async () => {
    const panes = () =>
      crew
        .tmux('list-panes', '-a', '-F', '#{window_name} #{pane_pid}')
        .trim()
        .split('\n')
        .map((l) => l.split(' '));
    const pids = panes().map(([, pid]) => Number(pid));
    crew.tmux('kill-server');
    await waitForExit(pids);
    const r = await crew.ok('recover_session', { session: 'own' });
    expect(r.recovered).toEqual([expect.objectContaining({ agent: 'Agent_1', action: 'resumed', status: 'idle' })]);

    // The tab's program is bubblewrap, resuming the same conversation inside it.
    const [, pid] = panes().find(([name]) => name === 'Agent_1')!;
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    expect(argv[0]).toMatch(/bwrap$/);
    expect(argv).toEqual(expect.arrayContaining(['--unshare-pid', '--resume', firstAgentSession]));

    script({ 'probe again': [bash('toolu_after_recovery', `cat '${other}/secret.txt'`)] });
    await crew.ok('send_message_to_agent', { agent: 'Agent_1', message: 'probe again', wait_for_reply: true, timeout_s: 120 });
    const req = await mock.waitFor((q) => toolResults(lastUserContent(q)).some((t) => t.tool_use_id === 'toolu_after_recovery'), 60_000);
    // The earlier conversation travels with the next request: the first probe and its last call.
    expect(JSON.stringify(req.body.messages)).toContain('probe the sandbox');
    expect(JSON.stringify(req.body.messages)).toContain('toolu_own_work');
    expect(textOf(resultsById().get('toolu_after_recovery')!)).toMatch(/No such file/);
    expect(req.rawBody).not.toContain(SECRET);
  });
});

describe.skipIf(!bwrapWorks)('roles in the sandbox', () => {
  // Both agents start at once: a start is what costs here.
  let reviewer: string;
  let writer: string;
  beforeAll(async () => {
    if (!bwrapWorks) return;
    const [r, w] = await Promise.all([
      crew.ok('create_agent', { session: 'own', role: 'code_reviewer', permission_mode: 'bypassPermissions' }),
      crew.ok('create_agent', { session: 'own', role: 'documentation_writer', permission_mode: 'dontAsk' }),
    ]);
    [reviewer, writer] = [r.agent, w.agent];
    script({
      'review it': [
        { id: 'toolu_review_write', name: 'Write', input: { file_path: join(own, 'review.txt'), content: 'planted' } },
        bash('toolu_review_echo', `echo planted > review-notes.txt`),
        bash('toolu_review_read', `cat notes.txt`),
      ],
      'document it': [
        { id: 'toolu_doc_md', name: 'Write', input: { file_path: join(own, 'docs', 'guide.md'), content: '# Guide\n' } },
        { id: 'toolu_doc_py', name: 'Write', input: { file_path: join(own, 'tool.py'), content: 'print(1)\n' } },
      ],
    });
  });

  it('a code_reviewer agent reads its root but cannot write it: Write is denied and `echo > file` meets a read-only root', async () => {
    await crew.ok('send_message_to_agent', { agent: reviewer, message: 'review it', wait_for_reply: true, timeout_s: 120 });
    await until('the last call to reach the model', async () => resultsById().get('toolu_review_read'), 60_000);
    const results = resultsById();
    const write = results.get('toolu_review_write')!;
    expect(write.is_error).toBe(true);
    expect(textOf(write)).toMatch(/No such tool available: Write|denied/);
    expect(textOf(results.get('toolu_review_echo')!)).toMatch(/Read-only file system/);
    expect(existsSync(join(own, 'review.txt'))).toBe(false);
    expect(existsSync(join(own, 'review-notes.txt'))).toBe(false);
    expect(textOf(results.get('toolu_review_read')!)).toContain('own notes');

    const mine = (await crew.ok('get_session_status', { session: 'own' })).agents.find((a: { agent: string }) => a.agent === reviewer);
    expect(mine.role).toMatchObject({ id: 'code_reviewer', read_only: true });
    expect(mine.sandbox.paths.read).toContain(own);
    expect(mine.sandbox.paths.write).not.toContain(own);
  });

  it('in dontAsk mode a documentation_writer agent writes Markdown files and is refused any other', async () => {
    await crew.ok('send_message_to_agent', { agent: writer, message: 'document it', wait_for_reply: true, timeout_s: 120 });
    await until('the last call to reach the model', async () => resultsById().get('toolu_doc_py'), 60_000);
    const results = resultsById();
    expect(results.get('toolu_doc_md')!.is_error, textOf(results.get('toolu_doc_md')!)).toBeFalsy();
    expect(readFileSync(join(own, 'docs', 'guide.md'), 'utf8')).toBe('# Guide\n');
    expect(results.get('toolu_doc_py')!.is_error).toBe(true);
    expect(existsSync(join(own, 'tool.py'))).toBe(false);
  });
});

describe.skipIf(!bwrapWorks)('worktree agents in the sandbox', () => {
  it("a worktree agent commits on its own branch but cannot write the main checkout or another agent's worktree", async () => {
    const w1 = await crew.ok('create_agent', { session: 'own', isolation: 'worktree', permission_mode: 'bypassPermissions' });
    const w2 = await crew.ok('create_agent', { session: 'own', isolation: 'worktree', permission_mode: 'bypassPermissions' });
    const status = await crew.ok('get_session_status', { session: 'own' });
    const tree = (name: string) => status.agents.find((a: { agent: string }) => a.agent === name).worktree.path as string;
    const [tree1, tree2] = [tree(w1.agent), tree(w2.agent)];
    const bash = (id: string, command: string) => ({ id, name: 'Bash', input: { command, description: 'Run a command' } });
    const script: MockReplySpec['toolUse'][] = [
      bash('toolu_write_other_tree', `echo planted > '${tree1}/planted.txt'`),
      bash('toolu_write_main', `echo planted > '${own}/planted.txt'`),
      bash('toolu_own_commit', `echo w2 > w2.txt && git add w2.txt && git -c user.name=a -c user.email=a@example.com commit -qm w2 && git log --format=%s -1`),
    ];
    mock.setReply((req) => {
      if (!isConversationRequest(req)) return 'title';
      const answered = toolResults(lastUserContent(req))[0];
      if (!answered) return mock.lastUserText(req)?.includes('try the worktrees') ? { text: 'Trying.', toolUse: script[0] } : 'Finished.';
      const next = script[script.findIndex((x) => x!.id === answered.tool_use_id) + 1];
      return next ? { text: 'Trying.', toolUse: next } : 'Finished.';
    });
    const sent = await crew.ok('send_message_to_agent', { agent: w2.agent, message: 'try the worktrees', wait_for_reply: true, timeout_s: 240 });
    expect(sent).toMatchObject({ delivered: 'confirmed', reply: 'Finished.' });
    const results = new Map<string, ToolResult>();
    for (const req of mock.conversationRequests()) for (const r of toolResults(lastUserContent(req))) results.set(r.tool_use_id, r);
    for (const id of ['toolu_write_other_tree', 'toolu_write_main']) expect(textOf(results.get(id)!), id).toMatch(/Read-only file system/);
    expect(existsSync(join(tree1, 'planted.txt'))).toBe(false);
    expect(existsSync(join(own, 'planted.txt'))).toBe(false);
    const commit = results.get('toolu_own_commit')!;
    expect(commit.is_error, textOf(commit)).toBeFalsy();
    expect(git(tree2, 'log', '--format=%s', '-1').trim()).toBe('w2');
  });
});

describe.skipIf(!bwrapWorks)('what a person shares', () => {
  it('--sandbox-allow is shown read-only to every agent, sandbox_extra_paths DIR:rw read-write to one, and status lists both', async () => {
    const agent = await crew.ok('create_agent', { session: 'own', permission_mode: 'bypassPermissions', sandbox_extra_paths: [`${cache}:rw`] });
    const bash = (id: string, command: string) => ({ id, name: 'Bash', input: { command, description: 'Run a command' } });
    const script: MockReplySpec['toolUse'][] = [
      bash('toolu_shared_read', `cat '${allowed}/guide.txt' && echo cached > '${cache}/c.txt' && echo written`),
      bash('toolu_shared_write', `echo no > '${allowed}/x.txt'`),
    ];
    mock.setReply((req) => {
      if (!isConversationRequest(req)) return 'title';
      const answered = toolResults(lastUserContent(req))[0];
      if (!answered) return mock.lastUserText(req)?.includes('use the shared paths') ? { text: 'Trying.', toolUse: script[0] } : 'Finished.';
      const next = script[script.findIndex((x) => x!.id === answered.tool_use_id) + 1];
      return next ? { text: 'Trying.', toolUse: next } : 'Finished.';
    });
    await crew.ok('send_message_to_agent', { agent: agent.agent, message: 'use the shared paths', wait_for_reply: true, timeout_s: 240 });
    const results = new Map<string, ToolResult>();
    for (const req of mock.conversationRequests()) for (const r of toolResults(lastUserContent(req))) results.set(r.tool_use_id, r);
    expect(textOf(results.get('toolu_shared_read')!)).toMatch(/the shared guide[\s\S]*written/);
    expect(readFileSync(join(cache, 'c.txt'), 'utf8')).toBe('cached\n');
    expect(textOf(results.get('toolu_shared_write')!)).toMatch(/Read-only file system/);
    expect(existsSync(join(allowed, 'x.txt'))).toBe(false);
    const status = await crew.ok('get_session_status', { session: 'own' });
    const mine = status.agents.find((a: { agent: string }) => a.agent === agent.agent);
    expect(mine.sandbox.paths.read).toContain(allowed);
    expect(mine.sandbox.paths.write).toContain(cache);
  });
});

describe.skipIf(!bwrapWorks)('--sandbox on without bubblewrap', () => {
  let bare: Crew | undefined;
  let bareHome: ReturnType<typeof makeClaudeHome> | undefined;
  afterAll(async () => {
    await bare?.stop();
    bareHome?.cleanup();
  });

  it('refuses to start an agent, and says how to install it', async () => {
    bareHome = makeClaudeHome({ apiKey: 'sk-ant-test-0123456789abcdefghij', baseUrl: 'http://127.0.0.1:9' });
    bare = await startTabcrew({ env: bareHome.env, args: ['--claude-path', claudeBin, '--sandbox', 'on', '--sandbox-program', join(base, 'no-such-bwrap')] });
    await bare.ok('create_session', { root: own, name: 'own' });
    const r = await bare.call('create_agent', { session: 'own' });
    expect(r.isError).toBe(true);
    const text = JSON.stringify(r.content);
    expect(text).toContain('--sandbox on');
    expect(text).toContain('apt-get install bubblewrap');
    expect(text).toContain('unprivileged_userns_clone');
    expect(bare.windows()).toEqual([]);
    await until('the sandbox line on stderr', async () => (bare!.stderr().includes('no-such-bwrap') ? true : undefined), 10_000, 100);
  });
});
