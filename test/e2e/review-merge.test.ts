import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../bench/chromium.mjs';
import { runCli, testEnv } from '../cli/run-cli.js';
import { claudeBin, makeClaudeHome } from '../support/claude-home.js';
import { mockedHome, tearDown } from '../support/e2e-world.js';
import { isConversationRequest, lastUserContent, startMockAnthropic, type MockAnthropic, type RecordedRequest } from '../support/mock-anthropic.js';
import { httpOf } from '../support/http-crew.js';
import { CLI, startTabcrew, type Crew } from '../support/tabcrew.js';
import { until } from '../support/until.js';

/**
 * Review and merge with real Claude Code agents against the mock API: worktree agents whose
 * scripted model writes files (Write tool calls) and commits and merges them itself (Bash
 * tool calls running git), an agent that shares the root, and `serve --merge-check`; then
 * the dashboard's review in a real browser (Debian's chromium): the Changes tab, a comment
 * on a line that reaches the agent, and the Merge button.
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
const COMMENT = 'Please take BREAKS_BUILD out again, it breaks the build.';
const artifacts = resolve(import.meta.dirname, '../artifacts/review-merge');

beforeAll(async () => {
  mkdirSync(repo);
  git(repo, 'init', '-q', '-b', 'main');
  git(repo, 'config', 'user.email', 'test@example.com');
  git(repo, 'config', 'user.name', 'test');
  writeFileSync(join(repo, 'shared.txt'), 'base\n');
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'base');
  // "write-file <path> <content>" plays a Write tool call, "run-bash: <command>" a Bash one
  // (the agents commit and merge with git themselves); a review comment on BREAKS_BUILD from
  // the dashboard has the agent take that file out again.
  mock = await startMockAnthropic({
    reply: (req) => {
      const content = lastUserContent(req);
      if (Array.isArray(content) && content.some((b: { type?: string }) => b?.type === 'tool_result')) return { text: 'Done.' };
      if (!isConversationRequest(req)) return { text: 'Noted.' };
      const write = /write-file (\S+) (\S+)/.exec(text(req));
      if (write) return { text: 'Writing.', toolUse: { name: 'Write', input: { file_path: write[1], content: `${write[2]}\n` } } };
      const bash = /run-bash: ([^\n]+)/.exec(text(req));
      const fix = text(req).includes('Review comment on BREAKS_BUILD:1') && text(req).includes(COMMENT);
      const command =
        bash?.[1] ?? (fix ? "git rm -q BREAKS_BUILD && echo fine > fixed.txt && git add -A && git commit -qm 'take BREAKS_BUILD out'" : undefined);
      if (command) return { text: 'Running it.', toolUse: { name: 'Bash', input: { command, description: 'Run git' } } };
      return { text: 'Noted.' };
    },
  });
  home = mockedHome(mock, [base]);
  crew = await startTabcrew({
    env: home.env,
    args: ['--claude-path', claudeBin, '--allow-bypass', '--http', '0', '--merge-check', 'test ! -e BREAKS_BUILD || { echo "BREAKS_BUILD is here"; exit 4; }'],
  });
  crew.client.setNotificationHandler(LoggingMessageNotificationSchema, async (n) => void logs.push({ logger: n.params.logger, data: n.params.data }));
  await crew.ok('create_session', { root: repo, name: 'repo' });
}, 120_000);

let browser: BrowserContext | undefined;
afterAll(async () => {
  await browser?.close();
  await tearDown([crew], mock, home, base);
});

async function agentWrites(agent: string, file: string, word: string): Promise<void> {
  const sent = await crew.ok('send_message_to_agent', { agent, message: `write-file ${file} ${word}`, wait_for_reply: true });
  expect(sent.delivered).toBe('confirmed');
  await until(`${agent} wrote ${file}`, async () => (existsSync(file) && readFileSync(file, 'utf8') === `${word}\n` ? true : undefined));
}

/** The agent runs `command` through its Bash tool, in its own worktree, and the turn ends. */
async function agentRuns(agent: string, command: string): Promise<void> {
  const sent = await crew.ok('send_message_to_agent', { agent, message: `run-bash: ${command}`, wait_for_reply: true });
  expect(sent.delivered).toBe('confirmed');
}

// Bash runs without asking (bypassPermissions; the agent's sandbox keeps it to its worktree and the repository's git folder).
const worktreeAgent = async () =>
  (await crew.ok('create_agent', { session: 'repo', isolation: 'worktree', permission_mode: 'bypassPermissions', model: MODEL })).agent as string;
const lastCommit = (agent: string) => git(tree(agent), 'log', '-1', '--format=%s');

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

    for (const a of [one, two]) {
      await agentRuns(a, `git commit -q -am '${a} edits shared.txt'`);
      expect(lastCommit(a)).toBe(`${a} edits shared.txt`);
    }
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

    // The agent merges main and resolves; the retry lands.
    await agentRuns(two, "git merge -q main; echo 'apple and pear' > shared.txt && git commit -q -am resolve");
    expect(lastCommit(two)).toBe('resolve');
    const second = await crew.ok('merge_agent_work', { agent: two, strategy: 'squash' });
    expect(second).toMatchObject({ merged: true, base_before: first.commit });
    expect(readFileSync(join(repo, 'shared.txt'), 'utf8')).toBe('apple and pear\n');

    // A failing --merge-check refuses with its output and changes nothing.
    const three = await worktreeAgent();
    await agentRuns(three, "echo yes > BREAKS_BUILD && git add -A && git commit -q -m 'break the build'");
    expect(lastCommit(three)).toBe('break the build');
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
  it("the dashboard reviews: a card's counts, the ready list, the Changes tab's diff, a comment on a line that reaches the agent, and the Merge button's refusal and merge", async () => {
    const three = 'Agent_3';
    mkdirSync(artifacts, { recursive: true });
    const { url } = await httpOf(crew);
    const link = JSON.parse(execFileSync(process.execPath, [CLI, 'dashboard', '--state-dir', crew.dirs.state, '--json'], { encoding: 'utf8' })).url as string;
    browser = await launchChromium(base);
    const page = browser.pages()[0] ?? (await browser.newPage());
    await page.goto(link);
    await page.waitForURL(`${url}/`, { timeout: 30_000 });

    // The card counts its changes; it finished its turn with a commit main lacks: ready for review.
    await page.locator(`.review-stat[data-agent="${three}"]`, { hasText: '1 file +1 −0 · 1 commit' }).waitFor({ timeout: 60_000 });
    await page.locator(`#review-ready-list .review-ready-item[data-agent="${three}"]`).click();
    const file = page.locator('#review-diff .d2h-file-wrapper[data-path="BREAKS_BUILD"]');
    await file.waitFor({ timeout: 30_000 });
    expect(await page.locator('#review-changes .review-summary').textContent()).toContain(`tabcrew/${three} → main · 1 commit ahead`);
    expect(await page.locator('#terminal').isVisible()).toBe(false);

    // Merge, confirmed with the agent's name: the check fails, the page shows the refusal and the check's lines.
    const main = git(repo, 'rev-parse', 'main');
    const confirmMerge = async () => {
      await page.locator('#review-merge').click();
      await page.locator('#confirm[open]').waitFor();
      await page.locator('#confirm-input').fill(three);
      await page.locator('#confirm-ok').click();
    };
    await confirmMerge();
    await page.locator('#review-merge-result.refused', { hasText: 'BREAKS_BUILD is here' }).waitFor({ timeout: 60_000 });
    expect(git(repo, 'rev-parse', 'main')).toBe(main);
    await page.screenshot({ path: join(artifacts, '01-changes-merge-refused.png'), fullPage: true });

    // A comment on the added line goes to the agent as a message quoting path:line.
    await page.waitForFunction(() => !document.querySelector('#review-changes .review-summary')?.textContent?.startsWith('Reading'), undefined, {
      timeout: 30_000,
    });
    await file.locator('tr', { hasText: 'yes' }).locator('.d2h-code-line').click();
    await page.locator('.review-comment textarea').fill(COMMENT);
    await page.screenshot({ path: join(artifacts, '02-line-comment.png'), fullPage: true });
    await page.locator('.review-comment button[type=submit]').click();
    await page.locator('.review-sent', { hasText: COMMENT }).waitFor({ timeout: 60_000 });
    const got = await mock.waitFor(
      (q) => isConversationRequest(q) && text(q).includes('Review comment on BREAKS_BUILD:1') && text(q).includes(COMMENT),
      120_000,
    );
    expect(text(got)).toContain('> yes');
    // …which the agent acts on: it takes the file out and commits.
    await until(`${three} committed its fix`, async () => (lastCommit(three) === 'take BREAKS_BUILD out' ? true : undefined), 120_000);

    // Merge again: it lands, and the page names the new commit and the check that passed.
    await page.locator('#review-changes button', { hasText: 'Refresh' }).click();
    await page.locator('#review-diff .d2h-file-wrapper[data-path="fixed.txt"]').waitFor({ timeout: 30_000 });
    await confirmMerge();
    const merged = page.locator('#review-merge-result.ok');
    await merged.waitFor({ timeout: 60_000 });
    const commit = git(repo, 'rev-parse', 'main');
    expect(commit).not.toBe(main);
    expect(await merged.locator('.review-commit').textContent()).toBe(commit);
    expect(await merged.textContent()).toMatch(/Merge check test ! -e BREAKS_BUILD .* passed \(exit 0\)/);
    expect(await merged.textContent()).not.toMatch(/null|undefined/);
    expect(existsSync(join(repo, 'fixed.txt'))).toBe(true);
    expect(existsSync(join(repo, 'BREAKS_BUILD'))).toBe(false);
    await page.screenshot({ path: join(artifacts, '03-merged.png'), fullPage: true });
    const { merges } = await crew.ok('list_merges', { session: 'repo' });
    expect(merges.slice(-2).map((m: any) => [m.agent, m.state])).toEqual([
      [three, 'refused'],
      [three, 'done'],
    ]);
  }, 300_000);
});
