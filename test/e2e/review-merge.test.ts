import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, testEnv } from '../cli/run-cli.js';
import { claudeBin, makeClaudeHome } from '../support/claude-home.js';
import { mockedHome, tearDown } from '../support/e2e-world.js';
import { isConversationRequest, lastUserContent, startMockAnthropic, type MockAnthropic, type RecordedRequest } from '../support/mock-anthropic.js';
import { startTabcrew, type Crew } from '../support/tabcrew.js';
import { until } from '../support/until.js';

/**
 * Review and merge with real Claude Code agents against the mock API: worktree agents whose
 * scripted model writes files (Write tool calls; the test commits them, as an agent's Bash
 * would), an agent that shares the root, and `serve --merge-check`.
 */
const MODEL = 'claude-tabcrew-test';
const base = realpathSync(mkdtempSync(join(tmpdir(), 'tabcrew-review-')));
const repo = join(base, 'repo');
let mock: MockAnthropic;
let home: ReturnType<typeof makeClaudeHome>;
let crew: Crew;
const logs: { logger?: string; data: any }[] = [];

const text = (req: RecordedRequest): string => mock.lastUserText(req) ?? '';
const git = (cwd: string, ...args: string[]): string => execFileSync('git', ['-C', cwd, ...args], { encoding: 'utf8' }).trim();
const tree = (agent: string) => join(repo, '.tabcrew', 'worktrees', agent);
const failText = (r: { content?: unknown }) => JSON.stringify(r.content);

beforeAll(async () => {
  mkdirSync(repo);
  git(repo, 'init', '-q', '-b', 'main');
  git(repo, 'config', 'user.email', 'test@example.com');
  git(repo, 'config', 'user.name', 'test');
  writeFileSync(join(repo, 'shared.txt'), 'base\n');
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'base');
  // "write-file <path> <content>" plays a Write tool call.
  mock = await startMockAnthropic({
    reply: (req) => {
      const content = lastUserContent(req);
      if (Array.isArray(content) && content.some((b: { type?: string }) => b?.type === 'tool_result')) return { text: 'Written.' };
      const write = /write-file (\S+) (\S+)/.exec(text(req));
      if (isConversationRequest(req) && write)
        return { text: 'Writing.', toolUse: { name: 'Write', input: { file_path: write[1], content: `${write[2]}\n` } } };
      return { text: 'Noted.' };
    },
  });
  home = mockedHome(mock, [base]);
  crew = await startTabcrew({
    env: home.env,
    args: ['--claude-path', claudeBin, '--merge-check', 'test ! -e BREAKS_BUILD || { echo "BREAKS_BUILD is here"; exit 4; }'],
  });
  crew.client.setNotificationHandler(LoggingMessageNotificationSchema, async (n) => void logs.push({ logger: n.params.logger, data: n.params.data }));
  await crew.ok('create_session', { root: repo, name: 'repo' });
}, 120_000);

afterAll(() => tearDown([crew], mock, home, base));

async function agentWrites(agent: string, file: string, word: string): Promise<void> {
  const sent = await crew.ok('send_message_to_agent', { agent, message: `write-file ${file} ${word}`, wait_for_reply: true });
  expect(sent.delivered).toBe('confirmed');
  await until(`${agent} wrote ${file}`, async () => (existsSync(file) && readFileSync(file, 'utf8') === `${word}\n` ? true : undefined));
}

const worktreeAgent = async () =>
  (await crew.ok('create_agent', { session: 'repo', isolation: 'worktree', permission_mode: 'acceptEdits', model: MODEL })).agent as string;

describe('review and merge of a crew', () => {
  it('changes, a merge that lands, a conflict the agent is asked about, its retry, a failing --merge-check, a root-sharing agent by hooks', async () => {
    const one = await worktreeAgent();
    const two = await worktreeAgent();
    await agentWrites(one, join(tree(one), 'shared.txt'), 'apple');
    await agentWrites(two, join(tree(two), 'shared.txt'), 'pear');

    // Both changed shared.txt: get_session_status lists the overlap.
    const status = await crew.ok('get_session_status', { session: 'repo' });
    expect(status.overlaps).toEqual([{ path: 'shared.txt', agents: [one, two], since: expect.any(String) }]);
    await until('the overlap log message', async () => (logs.some((l) => l.logger === 'tabcrew.overlap') ? true : undefined), 30_000);
    expect(logs.filter((l) => l.logger === 'tabcrew.overlap').map((l) => l.data)).toEqual([
      { session_id: expect.any(String), path: 'shared.txt', agents: [one, two], since: expect.any(String) },
    ]);
    // Each agent is told, once, the file and the other agent.
    await mock.waitFor((q) => isConversationRequest(q) && text(q).includes(`${two} has also changed shared.txt`), 60_000);
    await mock.waitFor((q) => isConversationRequest(q) && text(q).includes(`${one} has also changed shared.txt`), 60_000);

    // Before a commit: the change is in the working tree only, and merging it is refused by name.
    const dirty = await crew.ok('get_agent_changes', { agent: one, patch: true });
    expect(dirty).toMatchObject({ isolation: 'worktree', base_branch: 'main', branch: `tabcrew/${one}`, commits_ahead: 0, uncommitted: ['shared.txt'] });
    expect(dirty.files).toEqual([{ path: 'shared.txt', status: 'M', added: 1, removed: 1, committed: false }]);
    expect(dirty.patch).toContain('+apple');
    const refusedDirty = await crew.call('merge_agent_work', { agent: one });
    expect(refusedDirty.isError).toBe(true);
    expect(failText(refusedDirty)).toMatch(/uncommitted work: shared.txt/);

    for (const a of [one, two]) git(tree(a), 'commit', '-q', '-am', `${a} edits shared.txt`);
    expect((await crew.ok('get_agent_changes', { agent: one })).files).toEqual([{ path: 'shared.txt', status: 'M', added: 1, removed: 1, committed: true }]);

    // The first merge lands: main moves, the root's checkout holds it, the other agent is told it is behind.
    const before = git(repo, 'rev-parse', 'main');
    const dry = await crew.ok('merge_agent_work', { agent: one, dry_run: true });
    expect(dry).toMatchObject({ dry_run: true, merged: false });
    expect(git(repo, 'rev-parse', 'main')).toBe(before);
    const first = await crew.ok('merge_agent_work', { agent: one });
    expect(first).toMatchObject({ merged: true, base_before: before, root_checkout_updated: true, told_behind: [two] });
    expect(git(repo, 'rev-parse', 'main')).toBe(first.commit);
    expect(readFileSync(join(repo, 'shared.txt'), 'utf8')).toBe('apple\n');
    await mock.waitFor((q) => isConversationRequest(q) && text(q).includes(`merged into main, which is now at ${first.commit}`), 60_000);
    expect((await crew.ok('get_agent_changes', { agent: two })).commits_behind).toBe(2);

    // The second conflicts: refused naming the file, main untouched, the agent asked.
    const conflict = await crew.call('merge_agent_work', { agent: two, on_conflict: 'ask_agent' });
    expect(conflict.isError).toBe(true);
    expect(failText(conflict)).toMatch(/conflicts with main .* in: shared.txt\. Nothing was merged; main is unchanged/);
    expect(git(repo, 'rev-parse', 'main')).toBe(first.commit);
    await mock.waitFor((q) => isConversationRequest(q) && text(q).includes('conflicts in: shared.txt') && text(q).includes(first.commit), 60_000);

    // The agent merges main and resolves (played by the test); the retry lands.
    try {
      git(tree(two), 'merge', '-q', 'main');
    } catch {
      // the conflict to resolve
    }
    writeFileSync(join(tree(two), 'shared.txt'), 'apple and pear\n');
    git(tree(two), 'commit', '-q', '-am', 'resolve');
    const second = await crew.ok('merge_agent_work', { agent: two, strategy: 'squash' });
    expect(second).toMatchObject({ merged: true, base_before: first.commit });
    expect(readFileSync(join(repo, 'shared.txt'), 'utf8')).toBe('apple and pear\n');

    // A failing --merge-check refuses with its output and changes nothing.
    const three = await worktreeAgent();
    await agentWrites(three, join(tree(three), 'BREAKS_BUILD'), 'yes');
    git(tree(three), 'add', '-A');
    git(tree(three), 'commit', '-q', '-m', 'break the build');
    const checked = await crew.call('merge_agent_work', { agent: three });
    expect(checked.isError).toBe(true);
    expect(failText(checked)).toMatch(/--merge-check .* failed \(exit 4\).*BREAKS_BUILD is here/);
    expect(git(repo, 'rev-parse', 'main')).toBe(second.commit);
    expect(existsSync(join(repo, 'BREAKS_BUILD'))).toBe(false);

    // An agent without a worktree: its files come from its hooks, and there is no branch to merge.
    const four = (await crew.ok('create_agent', { session: 'repo', permission_mode: 'acceptEdits', model: MODEL })).agent as string;
    await agentWrites(four, join(repo, 'notes.txt'), 'kiwi');
    const byHooks = await crew.ok('get_agent_changes', { agent: four });
    expect(byHooks).toMatchObject({ isolation: 'none', attributed_by: 'hooks', uncommitted: ['notes.txt'] });
    expect(byHooks.files).toEqual([expect.objectContaining({ path: 'notes.txt', status: '?', committed: false })]);
    const noTree = await crew.call('merge_agent_work', { agent: four });
    expect(failText(noTree)).toMatch(/shares the session root.*no branch to merge/);

    const { merges } = await crew.ok('list_merges', { session: 'repo' });
    expect(merges.map((m: any) => [m.agent, m.state])).toEqual([
      [one, 'refused'],
      [one, 'done'],
      [one, 'done'],
      [two, 'refused'],
      [two, 'done'],
      [three, 'refused'],
      [four, 'refused'],
    ]);
    expect(merges[3].conflicts).toEqual(['shared.txt']);

    // The CLI reads the same, from the state.
    const flags = ['--state-dir', crew.dirs.state, '--log-dir', crew.dirs.logs, '--runtime-dir', crew.dirs.runtime, '--tmux-socket', crew.socket];
    const cli = await runCli(['changes', '--session', 'repo', '--json', ...flags], testEnv(home.env.HOME!));
    expect(cli.code).toBe(0);
    const rows = JSON.parse(cli.stdout).agents;
    expect(rows.find((r: any) => r.agent === three)).toMatchObject({
      commits_ahead: 1,
      files: [expect.objectContaining({ path: 'BREAKS_BUILD', status: 'A' })],
    });
    expect(rows.find((r: any) => r.agent === four)).toMatchObject({ attributed_by: 'hooks' });
    const table = await runCli(['changes', '--agent', three, '--patch', ...flags], testEnv(home.env.HOME!));
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`${three}\\s+tabcrew/${three}\\s+main\\s+1\\s+0\\s+1\\s+\\+1 -0\\s+0`));
    expect(table.stdout).toContain('+yes');
  }, 400_000);
});
