import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claudeBin, makeClaudeHome } from '../support/claude-home.js';
import { mockedHome, tearDown } from '../support/e2e-world.js';
import { isConversationRequest, lastUserContent, startMockAnthropic, type MockAnthropic, type MockReplySpec } from '../support/mock-anthropic.js';
import { startTabcrew, type Crew } from '../support/tabcrew.js';

/**
 * Session boundaries with the real Claude Code: an agent started before session B exists
 * is made, by a scripted model, to reach into B's root (named with glob characters) with
 * Claude Code's own tools. Its PreToolUse hook must refuse each call, and the refusal must
 * reach the model as the tool's error.
 */
const base = realpathSync(mkdtempSync(join(tmpdir(), 'tabcrew-boundaries-')));
const own = join(base, 'own');
const other = join(base, 'app[1]');
const SECRET = 'the-secret-of-session-b';
let mock: MockAnthropic;
let home: ReturnType<typeof makeClaudeHome>;
let crew: Crew;

type ToolResult = { type: 'tool_result'; tool_use_id: string; is_error?: boolean; content: unknown };
const toolResults = (content: unknown): ToolResult[] => (Array.isArray(content) ? content.filter((b) => b?.type === 'tool_result') : []);
const textOf = (r: ToolResult): string =>
  typeof r.content === 'string' ? r.content : Array.isArray(r.content) ? r.content.map((b: { text?: string }) => b.text ?? '').join('') : '';

beforeAll(async () => {
  mkdirSync(own);
  writeFileSync(join(own, 'notes.txt'), 'own notes\n');
  mock = await startMockAnthropic();
  home = mockedHome(mock, [own, other]);
  crew = await startTabcrew({ env: home.env, args: ['--claude-path', claudeBin] });
});

afterAll(() => tearDown([crew], mock, home, base));

describe('session boundaries (security level MEDIUM)', () => {
  it("an agent created before session B exists is refused Read, Write, grep and cat on B's files, and the model hears why", async () => {
    await crew.ok('create_session', { root: own, name: 'own' });
    const agent = await crew.ok('create_agent', { session: 'own' });
    expect(agent.status).toBe('idle');

    // Session B appears only now: the agent's settings were written without it.
    mkdirSync(other);
    writeFileSync(join(other, 'secret.txt'), `${SECRET}\n`);
    await crew.ok('create_session', { root: other, name: 'b' });
    const boundaries = JSON.parse(readFileSync(join(crew.dirs.runtime, 'shared', 'boundaries.json'), 'utf8'));
    expect(boundaries.sessions.map((s: { root: string }) => s.root)).toEqual([own, other]);

    const script: MockReplySpec['toolUse'][] = [
      { id: 'toolu_read_b', name: 'Read', input: { file_path: join(other, 'secret.txt') } },
      { id: 'toolu_grep_b', name: 'Bash', input: { command: `grep -rn secret '${other}'`, description: 'Search files' } },
      { id: 'toolu_grep_up', name: 'Bash', input: { command: 'grep -rn the-secret ..', description: 'Search files' } },
      { id: 'toolu_bash_b', name: 'Bash', input: { command: `cat '${other}/secret.txt'`, description: 'Read a file' } },
      { id: 'toolu_write_b', name: 'Write', input: { file_path: '../app[1]/planted.txt', content: 'planted' } },
      { id: 'toolu_read_own', name: 'Read', input: { file_path: join(own, 'notes.txt') } },
    ];
    // Each tool call follows the result of the previous one; then the model is done.
    mock.setReply((req) => {
      if (!isConversationRequest(req)) return 'title';
      const answered = toolResults(lastUserContent(req))[0];
      if (!answered) return mock.lastUserText(req)?.includes('probe the boundaries') ? { text: 'Trying.', toolUse: script[0] } : 'Finished.';
      const next = script[script.findIndex((s) => s!.id === answered.tool_use_id) + 1];
      return next ? { text: 'Trying.', toolUse: next } : 'Finished.';
    });
    const sent = await crew.ok('send_message_to_agent', { agent: agent.agent, message: 'probe the boundaries', wait_for_reply: true, timeout_s: 120 });
    expect(sent).toMatchObject({ delivered: 'confirmed', reply: 'Finished.' });

    // Claude Code 2.1.197 (native build) offers no Grep or Glob tool, unless the model asks for it anyway:
    // searching is `grep` through Bash. The Grep tool's paths are covered by test/claude/boundary.test.ts.
    expect(mock.conversationRequests()[0].body.tools.map((t: { name: string }) => t.name)).toEqual(expect.arrayContaining(['Read', 'Bash', 'Write']));
    const results = new Map<string, ToolResult>();
    for (const req of mock.conversationRequests()) for (const r of toolResults(lastUserContent(req))) results.set(r.tool_use_id, r);
    for (const id of ['toolu_read_b', 'toolu_grep_b', 'toolu_grep_up', 'toolu_bash_b', 'toolu_write_b']) {
      const r = results.get(id);
      expect(r, id).toBeDefined();
      expect(r!.is_error, id).toBe(true);
      expect(textOf(r!), id).toMatch(/tabcrew session "b" \(.*app\[1\]\).*agents may not read or change other sessions' files/);
      expect(textOf(r!), id).not.toContain(SECRET);
    }
    expect(existsSync(join(other, 'planted.txt'))).toBe(false);
    const mine = results.get('toolu_read_own');
    expect(mine?.is_error).toBeFalsy();
    expect(textOf(mine!)).toContain('own notes');
  });

  it('a deleted session is no longer a boundary', async () => {
    await crew.ok('delete_session', { session: 'b' });
    const boundaries = JSON.parse(readFileSync(join(crew.dirs.runtime, 'shared', 'boundaries.json'), 'utf8'));
    expect(boundaries.sessions.map((s: { name: string }) => s.name)).toEqual(['own']);
  });
});
