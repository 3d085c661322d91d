import { mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, existsSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { holdPermission } from '../../src/claude/permission-hold.js';
import { createOnce, decisionPath, readJson, type PermissionRequestFile } from '../../src/claude/permission-files.js';
import { answeredInput, planOf, questionsOf, requestKindOf } from '../../src/claude/request-kinds.js';

/**
 * Questions (AskUserQuestion) and plan approvals (ExitPlanMode) held like permission
 * requests: what the hook writes for the person, and what it prints to answer Claude Code
 * 2.1.332 (docs/claude-code-facts.md: allow with updatedInput.answers; a plan passed back
 * as it came; deny's message as the feedback).
 */
const base = realpathSync(mkdtempSync(join(tmpdir(), 'tabcrew-request-kinds-')));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
const fresh = () => {
  const d = join(base, `a${n++}`);
  mkdirSync(d);
  return { dir: join(d, 'permissions'), spool: join(d, 'events.jsonl') };
};

const ASK = {
  hook_event_name: 'PermissionRequest',
  session_id: 'c-1',
  tool_name: 'AskUserQuestion',
  tool_input: {
    questions: [
      {
        question: 'Which color?',
        header: 'Color',
        options: [
          { label: 'Red', description: 'warm' },
          { label: 'Blue', description: 'cool' },
        ],
        multiSelect: false,
      },
      { question: 'Which sizes?', header: 'Size', options: [{ label: 'S' }, { label: 'M' }, { label: 'L' }], multiSelect: true },
    ],
  },
};
const PLAN_TEXT = '# Plan\n\n1. Make a.txt\n2. Deploy with TOKEN=sk-live-abcdefghijklmnop1234 <b>now</b>\n';
const PLAN = {
  hook_event_name: 'PermissionRequest',
  session_id: 'c-1',
  tool_name: 'ExitPlanMode',
  tool_input: { plan: PLAN_TEXT, planFilePath: '/home/x/.claude/plans/go-now.md' },
};

async function requestIn(dir: string): Promise<PermissionRequestFile> {
  for (let i = 0; i < 200; i++) {
    const name = existsSync(dir) ? readdirSync(dir).find((f) => f.endsWith('.request.json')) : undefined;
    const req = name && readJson<PermissionRequestFile>(join(dir, name));
    if (req) return req;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no request file in ${dir}`);
}

describe('request kinds', () => {
  it('tells a question and a plan from a permission by the tool', () => {
    expect([requestKindOf('AskUserQuestion'), requestKindOf('ExitPlanMode'), requestKindOf('Bash')]).toEqual(['question', 'plan', 'permission']);
  });

  it('shows questions with their options and a plan with its lines, secrets redacted', () => {
    expect(questionsOf(ASK.tool_input)).toEqual([
      {
        question: 'Which color?',
        header: 'Color',
        options: [
          { label: 'Red', description: 'warm' },
          { label: 'Blue', description: 'cool' },
        ],
        multi_select: false,
      },
      { question: 'Which sizes?', header: 'Size', options: [{ label: 'S' }, { label: 'M' }, { label: 'L' }], multi_select: true },
    ]);
    // Read again from the hook's file by the supervisor: the same.
    expect(questionsOf({ questions: questionsOf(ASK.tool_input) })).toEqual(questionsOf(ASK.tool_input));
    const plan = planOf(PLAN.tool_input);
    expect(plan).toContain('1. Make a.txt\n2. Deploy');
    expect(plan).not.toContain('sk-live-abcdefghijklmnop1234');
    expect(planOf({ plan: 'x'.repeat(30_000) })).toMatch(/… \[10000 more characters not shown\]$/);
    expect(planOf({ plan: planOf({ plan: 'x'.repeat(30_000) }) })).toBe(planOf({ plan: 'x'.repeat(30_000) }));
  });

  it("answers keyed by the question text as Claude Code sent it, chosen labels taken from the call's own input", () => {
    expect(answeredInput('question', ASK.tool_input, [{ options: [1] }, { options: [0, 2], text: 'XL' }])).toEqual({
      ...ASK.tool_input,
      answers: { 'Which color?': 'Blue', 'Which sizes?': 'S, L, XL' },
    });
    expect(answeredInput('plan', PLAN.tool_input)).toBe(PLAN.tool_input);
    expect(answeredInput('permission', { command: 'ls' })).toBeUndefined();
  });
});

describe('the hook holding a question or a plan', () => {
  it('writes the questions for the person and answers allow with updatedInput.answers', async () => {
    const { dir, spool } = fresh();
    const held = holdPermission(ASK, { dir, spool, claudeAlive: () => true });
    const req = await requestIn(dir);
    expect(req).toMatchObject({ kind: 'question', tool: 'AskUserQuestion', questions: questionsOf(ASK.tool_input) });
    expect(req.input_summary).toBe('Which color? · Which sizes?');
    createOnce(decisionPath(dir, req.request_id), {
      request_id: req.request_id,
      decision: 'allow',
      answers: [{ options: [0] }, { text: 'M and L' }],
      by: 'Claude Desktop',
      at: new Date().toISOString(),
    });
    expect((await held).output).toEqual({
      hookSpecificOutput: {
        hookEventName: 'PermissionRequest',
        decision: { behavior: 'allow', updatedInput: { ...ASK.tool_input, answers: { 'Which color?': 'Red', 'Which sizes?': 'M and L' } } },
      },
    });
  });

  it('writes the plan text (redacted, never the raw input) and approves by passing the input back', async () => {
    const { dir, spool } = fresh();
    const held = holdPermission(PLAN, { dir, spool, claudeAlive: () => true });
    const req = await requestIn(dir);
    expect(req).toMatchObject({ kind: 'plan', tool: 'ExitPlanMode', plan: planOf(PLAN.tool_input) });
    expect(JSON.stringify(req)).not.toContain('sk-live-abcdefghijklmnop1234');
    createOnce(decisionPath(dir, req.request_id), { request_id: req.request_id, decision: 'allow', by: 'Claude Desktop', at: new Date().toISOString() });
    expect((await held).output).toEqual({
      hookSpecificOutput: { hookEventName: 'PermissionRequest', decision: { behavior: 'allow', updatedInput: PLAN.tool_input } },
    });
  });

  it('rejects a plan with the feedback, lines kept, as the message the model reads', async () => {
    const { dir, spool } = fresh();
    const held = holdPermission(PLAN, { dir, spool, claudeAlive: () => true });
    const req = await requestIn(dir);
    createOnce(decisionPath(dir, req.request_id), {
      request_id: req.request_id,
      decision: 'deny',
      reason: 'Smaller steps.\nTests first.',
      by: 'Claude Desktop',
      at: new Date().toISOString(),
    });
    expect((await held).output).toEqual({
      hookSpecificOutput: {
        hookEventName: 'PermissionRequest',
        decision: {
          behavior: 'deny',
          message:
            'The person supervising this agent (through tabcrew, Claude Desktop) rejected the plan. Their feedback: Smaller steps.\nTests first. Stay in plan mode and revise it.',
        },
      },
    });
  });

  it('stops waiting when the question was answered at the tab (its PostToolUse carries the answers, so another input)', async () => {
    const { dir, spool } = fresh();
    appendFileSync(spool, '');
    const held = holdPermission(ASK, { dir, spool, claudeAlive: () => true, pollMs: 50 });
    await requestIn(dir);
    appendFileSync(spool, JSON.stringify({ ts: Date.now(), event: 'PostToolUse', session_id: 'c-1', tool_name: 'AskUserQuestion', input_fp: 'other' }) + '\n');
    expect(await held).toMatchObject({ outcome: 'answered_at_tab' });
    expect(readJson(decisionPath(dir, (await held).request_id))).toMatchObject({ decision: 'closed', why: 'answered_at_tab' });
  });
});
