import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tail } from '../../src/audit/audit-log.js';
import { transcriptPath } from '../../src/claude/transcript.js';
import { claudeBin, makeClaudeHome } from '../support/claude-home.js';
import { mockedHome, tearDown } from '../support/e2e-world.js';
import { hostileRepo } from '../support/hostile-repo.js';
import {
  isConversationRequest,
  lastUserContent,
  sessionIdOf,
  startMockAnthropic,
  type MockAnthropic,
  type RecordedRequest,
} from '../support/mock-anthropic.js';
import { startTabcrew, type Crew } from '../support/tabcrew.js';
import { until } from '../support/until.js';

/**
 * A crew that runs for long: cost from the transcripts at the price table's rates, a budget
 * that pauses an agent after its turn, a Claude Code that dies and comes back as itself.
 * Real Claude Code against the mock API, whose replies carry chosen usage figures.
 */
const MODEL = 'claude-tabcrew-test';
// Per million tokens; with USAGE below one API call costs exactly $0.0465.
const PRICE = { input: 2, output: 10, cache_read: 0.5, cache_write: 4 };
const USAGE = { input_tokens: 10_000, output_tokens: 2_000, cache_read_input_tokens: 5_000, cache_creation_input_tokens: 1_000 };
const CALL_USD = (10_000 * 2 + 2_000 * 10 + 5_000 * 0.5 + 1_000 * 4) / 1e6;

const base = realpathSync(mkdtempSync(join(tmpdir(), 'tabcrew-long-')));
const root = join(base, 'app');
let mock: MockAnthropic;
let home: ReturnType<typeof makeClaudeHome>;
let crew: Crew;
const notices: { logger?: string; data: any }[] = [];

const text = (req: RecordedRequest): string => mock.lastUserText(req) ?? '';

const agentStatus = async (agent: string): Promise<any> => (await crew.ok('get_session_status', { session: 'app' })).agents.find((a: any) => a.agent === agent);

beforeAll(async () => {
  mkdirSync(root);
  // "hang" starts a turn whose reply never comes (within the test): the agent stays busy without progress.
  // "write-file <path> <content>" plays a Write tool call.
  mock = await startMockAnthropic({
    reply: (req) => {
      const content = lastUserContent(req);
      if (Array.isArray(content) && content.some((b: { type?: string }) => b?.type === 'tool_result')) return { text: 'Written.', usage: USAGE };
      if (isConversationRequest(req) && text(req).includes('run-bash')) {
        return { text: 'Running.', toolUse: { name: 'Bash', input: { command: `touch ${join(base, 'never-approved')}`, description: 'touch' } }, usage: USAGE };
      }
      // "erase-transcript" plays an agent that empties its own transcript with its Bash tool.
      if (isConversationRequest(req) && text(req).includes('erase-transcript')) {
        const transcript = transcriptPath(join(home.home, '.claude'), root, sessionIdOf(req)!);
        return { text: 'Erasing.', toolUse: { name: 'Bash', input: { command: `: > '${transcript}'`, description: 'erase' } }, usage: USAGE };
      }
      const write = /write-file (\S+) (\S+)/.exec(text(req));
      if (isConversationRequest(req) && write)
        return { text: 'Writing.', toolUse: { name: 'Write', input: { file_path: write[1], content: `${write[2]}\n` } }, usage: USAGE };
      return { text: `Noted: ${text(req).split('\n').pop()}`, usage: USAGE, ...(text(req).includes('hang') ? { delayMs: 600_000 } : {}) };
    },
  });
  home = mockedHome(mock, [base]);
  const prices = join(base, 'prices.json');
  writeFileSync(prices, JSON.stringify({ [MODEL]: PRICE }));
  crew = await startTabcrew({
    env: home.env,
    args: ['--claude-path', claudeBin, '--prices-file', prices, '--allow-bypass', '--usage-record-every', '2s', '--stuck-after', '8s', '--waiting-after', '5s'],
  });
  crew.client.setNotificationHandler(LoggingMessageNotificationSchema, async (n) => void notices.push({ logger: n.params.logger, data: n.params.data }));
  await crew.ok('create_session', { root, name: 'app' });
}, 120_000);

afterAll(() => tearDown([crew], mock, home, base));

describe('cost, budgets and crashes of a long-running crew', () => {
  it("each agent's cost is its transcript's tokens at the price table's rates, with session and crew totals", async () => {
    const a = await crew.ok('create_agent', { session: 'app', model: MODEL });
    await crew.ok('send_message_to_agent', { agent: a.agent, message: 'first task', wait_for_reply: true });
    await crew.ok('send_message_to_agent', { agent: a.agent, message: 'second task', wait_for_reply: true });
    const calls = mock.conversationRequests(a.claude_session_id).length;
    expect(calls).toBeGreaterThanOrEqual(2);
    const me = await agentStatus(a.agent);
    expect(me.usage).toMatchObject({
      input: calls * 10_000,
      output: calls * 2_000,
      cache_read: calls * 5_000,
      cache_write: calls * 1_000,
      cost_complete: true,
      unpriced_models: [],
    });
    expect(me.usage.cost_usd).toBeCloseTo(calls * CALL_USD, 6);
    expect(me.usage.by_model).toEqual([expect.objectContaining({ model: MODEL, cost_usd: me.usage.cost_usd })]);
    expect(me.health).toMatchObject({ health: 'ok' });
    const status = await crew.ok('get_session_status', { session: 'app' });
    expect(status.usage.cost_usd).toBeCloseTo(me.usage.cost_usd, 6);
    expect(status.crew_usage.cost_usd).toBeCloseTo(me.usage.cost_usd, 6);
    // The audit log's periodic usage record carries the same figures.
    const record = await until('a usage record', async () =>
      (await tail(crew.dirs.logs, { type: 'usage', limit: 1 })).find((r: any) => r.crew.cost_usd >= me.usage.cost_usd),
    );
    expect((record as any).agents).toEqual([expect.objectContaining({ agent: a.agent, cost_usd: me.usage.cost_usd })]);
  });

  it('a model missing from the price table is reported unpriced, not $0', async () => {
    const b = await crew.ok('create_agent', { session: 'app', model: 'claude-not-in-the-table' });
    await crew.ok('send_message_to_agent', { agent: b.agent, message: 'an unpriced task', wait_for_reply: true });
    const me = await agentStatus(b.agent);
    expect(me.usage).toMatchObject({ cost_usd: null, cost_complete: false, unpriced_models: ['claude-not-in-the-table'] });
    expect(me.usage.total_tokens).toBeGreaterThan(0);
    const status = await crew.ok('get_session_status', { session: 'app' });
    expect(status.crew_usage).toMatchObject({ cost_complete: false, unpriced_models: ['claude-not-in-the-table'] });
    await crew.ok('delete_agent', { agent: b.agent });
  });

  it('an agent that reaches its budget is paused after its turn, refuses the next message naming the limit, and resume_agent lifts it', async () => {
    const c = await crew.ok('create_agent', { session: 'app', model: MODEL, max_cost_usd: 0.04 });
    const first = await crew.ok('send_message_to_agent', { agent: c.agent, message: 'an expensive task', wait_for_reply: true });
    // The turn that crossed the limit was let finish.
    expect(first.reply).toBe('Noted: an expensive task');
    const refused = await crew.call('send_message_to_agent', { agent: c.agent, message: 'one more' });
    expect(refused.isError).toBe(true);
    expect(JSON.stringify(refused.content)).toMatch(/paused: its cost reached max_cost_usd \(\$0\.0400; used \$0\.0465\).*resume_agent/);
    expect(mock.conversationRequests(c.claude_session_id).some((r) => text(r).includes('one more'))).toBe(false);
    const paused = await until('the agent paused', async () => {
      const s = await agentStatus(c.agent);
      return s.status === 'paused' ? s : undefined;
    });
    expect(paused.paused).toMatchObject({ reason: 'budget', limit: 'max_cost_usd', value: 0.04 });
    await until('the client told', async () =>
      notices.find((n) => n.logger === 'tabcrew.attention' && n.data.agent === c.agent && n.data.reason === 'budget') ? true : undefined,
    );
    expect(notices.some((n) => n.logger === 'tabcrew.status' && n.data.agent === c.agent && n.data.to === 'paused')).toBe(true);

    const tooLow = await crew.call('resume_agent', { agent: c.agent, raise_to: 0.01 });
    expect(tooLow.isError).toBe(true);
    const resumed = await crew.ok('resume_agent', { agent: c.agent, raise_to: 1 });
    expect(resumed).toMatchObject({ agent: c.agent, status: 'idle', limit: 'max_cost_usd', raised_to: 1 });
    const again = await crew.ok('send_message_to_agent', { agent: c.agent, message: 'after the raise', wait_for_reply: true });
    expect(again.reply).toBe('Noted: after the raise');
    await crew.ok('delete_agent', { agent: c.agent });
  });

  it('an agent that empties its own transcript in every turn is still paused at its max_tokens', async () => {
    // Each turn is two calls of 18,000 tokens: the one that runs the Bash tool, and the answer after it.
    const e = await crew.ok('create_agent', { session: 'app', model: MODEL, permission_mode: 'bypassPermissions', max_tokens: 60_000 });
    const transcript = transcriptPath(join(home.home, '.claude'), root, e.claude_session_id);
    for (const turn of [1, 2]) {
      const sent = await crew.ok('send_message_to_agent', { agent: e.agent, message: `erase-transcript, turn ${turn}`, wait_for_reply: true });
      expect(sent.delivered).toBe('confirmed');
    }
    expect(mock.conversationRequests(e.claude_session_id)).toHaveLength(4);
    // The tool did run: what the transcript holds now is only what was written after the last emptying.
    expect(readFileSync(transcript, 'utf8')).not.toContain('turn 1');
    const refused = await crew.call('send_message_to_agent', { agent: e.agent, message: 'erase-transcript, turn 3' });
    expect(refused.isError).toBe(true);
    expect(JSON.stringify(refused.content)).toMatch(/paused: its tokens reached max_tokens \(60000; used 72000\)/);
    expect(mock.conversationRequests(e.claude_session_id)).toHaveLength(4);
    const paused = await until('the agent paused', async () => {
      const s = await agentStatus(e.agent);
      return s.status === 'paused' ? s : undefined;
    });
    expect(paused.paused).toMatchObject({ reason: 'budget', limit: 'max_tokens', value: 60_000 });
    // Status and cost show the counted figures, not the emptied transcript's.
    expect(paused.usage.total_tokens).toBe(72_000);
    expect(paused.usage.cost_usd).toBeCloseTo(4 * CALL_USD, 6);
    expect(paused.tokens.input).toBe(40_000);
    const rewound = await tail(crew.dirs.logs, { type: 'budget', agent: e.agent, limit: 10 });
    expect(rewound.some((r: any) => r.action === 'transcript_rewound')).toBe(true);
    await crew.ok('delete_agent', { agent: e.agent });
  });

  it('a busy agent without progress for --stuck-after is stuck, and the client is told', async () => {
    const e = await crew.ok('create_agent', { session: 'app', model: MODEL });
    await crew.ok('send_message_to_agent', { agent: e.agent, message: 'hang on this one' });
    const stuck = await until('the agent stuck', async () => {
      const s = await agentStatus(e.agent);
      return s.health.health === 'stuck' ? s : undefined;
    });
    expect(stuck.status).toBe('busy');
    expect(stuck.health.reason).toMatch(/no new transcript line or hook event for \d+s \(--stuck-after 8s\)/);
    await until('the client told', async () =>
      notices.find((n) => n.logger === 'tabcrew.attention' && n.data.agent === e.agent && n.data.reason === 'stuck') ? true : undefined,
    );
    await crew.ok('delete_agent', { agent: e.agent });
  });

  it('an agent past its timeout_minutes is paused with reason timeout', async () => {
    const t = await crew.ok('create_agent', { session: 'app', model: MODEL, timeout_minutes: 0.05 });
    const paused = await until('the agent paused', async () => {
      const s = await agentStatus(t.agent);
      return s.status === 'paused' ? s : undefined;
    });
    expect(paused.paused).toMatchObject({ reason: 'timeout', limit: 'timeout_minutes', value: 0.05 });
    const refused = await crew.call('send_message_to_agent', { agent: t.agent, message: 'too late' });
    expect(JSON.stringify(refused.content)).toMatch(/it ran for timeout_minutes \(0\.05 min/);
    expect(await crew.ok('resume_agent', { agent: t.agent })).toMatchObject({ limit: 'timeout_minutes', raised_to: null, status: 'idle' });
    await crew.ok('delete_agent', { agent: t.agent });
  });

  it('a permission dialog open longer than --waiting-after is waiting_long, and the client is told', async () => {
    const w = await crew.ok('create_agent', { session: 'app', model: MODEL, permission_mode: 'default' });
    await crew.ok('send_message_to_agent', { agent: w.agent, message: 'please run-bash now' });
    const waiting = await until('waiting_long', async () => {
      const s = await agentStatus(w.agent);
      return s.health.health === 'waiting_long' ? s : undefined;
    });
    expect(waiting.status).toBe('waiting_permission');
    for (const reason of ['permission', 'waiting_long']) {
      await until(`a ${reason} notice`, async () =>
        notices.some((n) => n.logger === 'tabcrew.attention' && n.data.agent === w.agent && n.data.reason === reason) ? true : undefined,
      );
    }
    await crew.ok('delete_agent', { agent: w.agent });
  });

  it('a Claude Code killed with SIGKILL is relaunched with its conversation, and the attempt is audited', async () => {
    const d = await crew.ok('create_agent', { session: 'app', model: MODEL });
    await crew.ok('send_message_to_agent', { agent: d.agent, message: 'remember the word kiwi', wait_for_reply: true });
    const pane = crew
      .tmux('list-panes', '-a', '-F', '#{window_name} #{pane_pid}')
      .split('\n')
      .find((l) => l.startsWith(`${d.agent} `))!;
    process.kill(Number(pane.split(' ')[1]), 'SIGKILL');
    const back = await until('the agent relaunched', async () => {
      const audit = await tail(crew.dirs.logs, { type: 'relaunch', agent: d.agent, limit: 5 });
      const s = await agentStatus(d.agent);
      return audit.some((r: any) => r.outcome === 'ok') && s.status === 'idle' ? s : undefined;
    });
    expect(back.claude_session_id).toBe(d.claude_session_id);
    const [attempt] = await tail(crew.dirs.logs, { type: 'relaunch', agent: d.agent, limit: 1 });
    expect(attempt).toMatchObject({ attempt: 1, outcome: 'ok', claude_session_id: d.claude_session_id });
    await crew.ok('send_message_to_agent', { agent: d.agent, message: 'what was the word?', wait_for_reply: true });
    const req = await mock.waitFor((q) => isConversationRequest(q) && text(q).includes('what was the word?'), 30_000);
    expect(sessionIdOf(req)).toBe(d.claude_session_id);
    expect(JSON.stringify(req.body.messages)).toContain('remember the word kiwi');
    await crew.ok('delete_agent', { agent: d.agent });
  });
});

describe('relaunch that keeps failing', () => {
  it('after three failed relaunches the agent stays exited, crashed, with the last error', async () => {
    const doomed = join(base, 'doomed');
    mkdirSync(doomed);
    await crew.ok('create_session', { root: doomed, name: 'doomed' });
    const g = await crew.ok('create_agent', { session: 'doomed', model: MODEL });
    await crew.ok('send_message_to_agent', { agent: g.agent, message: 'a turn to resume', wait_for_reply: true });
    // Its root vanishes, then its Claude Code dies: every relaunch fails to start.
    renameSync(doomed, `${doomed}-gone`);
    const pane = crew
      .tmux('list-panes', '-a', '-F', '#{window_name} #{pane_pid}')
      .split('\n')
      .find((l) => l.startsWith(`${g.agent} `))!;
    process.kill(Number(pane.split(' ')[1]), 'SIGKILL');
    const dead = await until(
      'the relaunches given up',
      async () => {
        const s = (await crew.ok('get_session_status', { session: 'doomed' })).agents[0];
        return s.health.health === 'crashed' && /gave up/.test(s.health.reason) ? s : undefined;
      },
      180_000,
    );
    expect(dead.status).toBe('exited');
    expect(dead.health.reason).toMatch(/relaunched 3 times; gave up\. Last error: .*does not exist/);
    const records = await tail(crew.dirs.logs, { type: 'relaunch', agent: g.agent, limit: 10 });
    expect(records.map((r: any) => r.outcome)).toEqual(['failed', 'failed', 'failed', 'gave_up']);
    expect(records.slice(0, 3).map((r: any) => r.attempt)).toEqual([1, 2, 3]);
    await crew.ok('delete_session', { session: 'doomed' });
  }, 240_000);
});

describe('worktree agents', () => {
  const repo = join(base, 'repo');
  const git = (cwd: string, ...args: string[]): string => execFileSync('git', ['-C', cwd, ...args], { encoding: 'utf8' });

  beforeAll(async () => {
    mkdirSync(repo);
    git(repo, 'init', '-q', '-b', 'main');
    git(repo, 'config', 'user.email', 'test@example.com');
    git(repo, 'config', 'user.name', 'test');
    writeFileSync(join(repo, 'shared.txt'), 'base\n');
    git(repo, 'add', '.');
    git(repo, 'commit', '-q', '-m', 'base');
    await crew.ok('create_session', { root: repo, name: 'repo' });
  });

  it('isolation "worktree" on a root that is not a git repository is refused, naming why', async () => {
    const r = await crew.call('create_agent', { session: 'app', isolation: 'worktree' });
    expect(r.isError).toBe(true);
    expect(JSON.stringify(r.content)).toMatch(/needs a git repository.*is not in one; nothing was created/);
  });

  it('two worktree agents edit the same file path without conflict, each on its own branch', async () => {
    const agents = [];
    for (const word of ['apple', 'pear']) {
      const a = await crew.ok('create_agent', { session: 'repo', isolation: 'worktree', permission_mode: 'acceptEdits', model: MODEL });
      const tree = join(repo, '.tabcrew', 'worktrees', a.agent);
      const sent = await crew.ok('send_message_to_agent', { agent: a.agent, message: `write-file ${join(tree, 'shared.txt')} ${word}`, wait_for_reply: true });
      // Not the reply: with a tool call in the turn, the reply read after Stop can be the text before the call
      // (the transcript's last line may lag the hook; delivery.ts readReply).
      expect(sent.delivered).toBe('confirmed');
      await until('the file written', async () =>
        existsSync(join(tree, 'shared.txt')) && readFileSync(join(tree, 'shared.txt'), 'utf8') === `${word}\n` ? true : undefined,
      );
      agents.push({ ...a, tree, word });
    }
    const status = await crew.ok('get_session_status', { session: 'repo' });
    for (const a of agents) {
      expect(readFileSync(join(a.tree, 'shared.txt'), 'utf8')).toBe(`${a.word}\n`);
      const s = status.agents.find((x: any) => x.agent === a.agent);
      expect(s.worktree).toMatchObject({ path: a.tree, branch: `tabcrew/${a.agent}`, commits_ahead: 0, dirty_files: 1, exists: true });
      git(a.tree, 'commit', '-q', '-am', `${a.word} from ${a.agent}`);
    }
    // The main checkout is untouched, and does not list the agents' worktrees as new files.
    expect(readFileSync(join(repo, 'shared.txt'), 'utf8')).toBe('base\n');
    expect(git(repo, 'status', '--porcelain')).toBe('');
    const [one, two] = agents;
    expect(git(repo, 'show', `tabcrew/${one!.agent}:shared.txt`)).toBe('apple\n');
    expect(git(repo, 'show', `tabcrew/${two!.agent}:shared.txt`)).toBe('pear\n');
    const after = (await crew.ok('get_session_status', { session: 'repo' })).agents.find((x: any) => x.agent === one!.agent);
    expect(after.worktree).toMatchObject({ commits_ahead: 1, dirty_files: 0 });

    // Recovery brings the agent back in its worktree, not in the root.
    const group = crew
      .tmux('list-windows', '-a', '-F', '#{session_name} #{window_name}')
      .split('\n')
      .find((l) => l.endsWith(` ${one!.agent}`))!
      .split(' ')[0];
    crew.tmux('kill-window', '-t', `=${group}:${one!.agent}`);
    const recovered = await crew.ok('recover_session', { session: 'repo' });
    expect(recovered.recovered).toEqual([expect.objectContaining({ agent: one!.agent, action: 'resumed', status: 'idle' })]);
    await crew.ok('send_message_to_agent', { agent: one!.agent, message: 'where are you now?', wait_for_reply: true });
    const req = await mock.waitFor((q) => isConversationRequest(q) && text(q).includes('where are you now?'), 30_000);
    expect(sessionIdOf(req)).toBe(one!.claude_session_id);
    const cwd = crew
      .tmux('list-panes', '-a', '-F', '#{window_name} #{pane_current_path}')
      .split('\n')
      .find((l) => l.startsWith(`${one!.agent} `));
    expect(cwd).toBe(`${one!.agent} ${one!.tree}`);

    // A dirty worktree is never removed unasked; the branch outlives the worktree unless asked.
    writeFileSync(join(two!.tree, 'scratch.txt'), 'unsaved\n');
    const refused = await crew.call('delete_agent', { agent: two!.agent });
    expect(refused.isError).toBe(true);
    expect(JSON.stringify(refused.content)).toMatch(/1 uncommitted file\(s\); nothing was deleted.*force: true/);
    expect(existsSync(two!.tree)).toBe(true);
    expect(await crew.ok('delete_agent', { agent: two!.agent, force: true })).toMatchObject({ worktree: { removed: true, branch_deleted: false } });
    expect(existsSync(two!.tree)).toBe(false);
    expect(git(repo, 'branch', '--list', `tabcrew/${two!.agent}`)).toContain(two!.agent);
    expect(await crew.ok('delete_agent', { agent: one!.agent, delete_branch: true })).toMatchObject({ worktree: { removed: true, branch_deleted: true } });
    expect(git(repo, 'branch', '--list', `tabcrew/${one!.agent}`)).toBe('');
  });

  it("in a repository an agent made hostile, creating a worktree agent, reading its status and deleting it run none of the repository's programs", async () => {
    // What an agent in acceptEdits can write into the session root's .git: an fsmonitor, hooks, filters.
    const hostile = hostileRepo(base);
    hostile.commit('.gitattributes', '* filter=evil\n', 'attributes');
    hostile.config('core.fsmonitor', hostile.marker('fsmonitor'));
    hostile.config('filter.evil.smudge', hostile.marker('smudge', true));
    hostile.config('filter.evil.clean', hostile.marker('clean', true));
    hostile.hook('post-checkout');
    hostile.hook('reference-transaction');
    await crew.ok('create_session', { root: hostile.root, name: 'hostile' });
    const a = await crew.ok('create_agent', { session: 'hostile', isolation: 'worktree', model: MODEL });
    const tree = join(hostile.root, '.tabcrew', 'worktrees', a.agent);
    expect(readFileSync(join(tree, 'README'), 'utf8')).toBe('hello\n');
    writeFileSync(join(tree, 'README'), 'HELLO\n'); // same size: git must read it, through the clean filter
    const s = (await crew.ok('get_session_status', { session: 'hostile' })).agents.find((x: any) => x.agent === a.agent);
    expect(s.worktree).toMatchObject({ path: tree, dirty_files: 1, exists: true });
    expect(await crew.ok('delete_agent', { agent: a.agent, force: true, delete_branch: true })).toMatchObject({
      worktree: { removed: true, branch_deleted: true },
    });
    expect(hostile.fired()).toEqual([]);
    await crew.ok('delete_session', { session: 'hostile' });
  });
});
