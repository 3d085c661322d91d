import { describe, expect, it } from 'vitest';
import type { PendingRequest } from '../../src/supervisor/permissions.js';
import { resolveAnswer } from '../../src/supervisor/request-answers.js';

/** What answer_request's arguments mean for each kind of request, and what it refuses. */
const base = { agent: 'Agent_1', session_id: 's-a', input_summary: 'x', since: '' };
const permission: PendingRequest = { ...base, request_id: 'p-0000000000000001', kind: 'permission', tool: 'Bash' };
const plan: PendingRequest = { ...base, request_id: 'p-0000000000000002', kind: 'plan', tool: 'ExitPlanMode', plan: '# Plan' };
const one: PendingRequest = {
  ...base,
  request_id: 'p-0000000000000003',
  kind: 'question',
  tool: 'AskUserQuestion',
  questions: [{ question: 'Which color?', options: [{ label: 'Red' }, { label: 'Blue' }], multi_select: false }],
};
const two: PendingRequest = {
  ...one,
  questions: [...one.questions!, { question: 'Which sizes?', options: [{ label: 'S' }, { label: 'M' }, { label: 'L' }], multi_select: true }],
};

describe('answer_request arguments', () => {
  it('picks an option by its label (any case) or its number as on screen, or takes typed text', () => {
    expect(resolveAnswer(one, { choose: 'blue' })).toEqual({ decision: 'allow', outcome: 'answered', answers: [{ options: [1] }], shown: ['Blue'] });
    expect(resolveAnswer(one, { choose: 1 })).toMatchObject({ answers: [{ options: [0] }], shown: ['Red'] });
    expect(resolveAnswer(one, { text: 'Green, please' })).toMatchObject({ answers: [{ text: 'Green, please' }], shown: ['Green, please'] });
  });

  it('answers several questions in order, several options where the question allows them', () => {
    expect(resolveAnswer(two, { answers: [{ choose: 2 }, { choose: ['S', 3] }] })).toMatchObject({
      answers: [{ options: [1] }, { options: [0, 2] }],
      shown: ['Blue', 'S, L'],
    });
    expect(() => resolveAnswer(two, { choose: 'Red' })).toThrow(/asks 2 questions: send answers/);
    expect(() => resolveAnswer(two, { answers: [{ choose: 1 }] })).toThrow(/asks 2 question\(s\) and 1 answer\(s\) came/);
    expect(() => resolveAnswer(one, { choose: ['Red', 'Blue'] })).toThrow(/takes one option, 2 came/);
  });

  it('refuses an option that does not exist, naming the ones that do', () => {
    expect(() => resolveAnswer(one, { choose: 'Green' })).toThrow(/no option is labelled "Green"; the options are 1\. Red, 2\. Blue/);
    expect(() => resolveAnswer(one, { choose: 3 })).toThrow(/there is no option 3/);
    expect(() => resolveAnswer(one, {})).toThrow(/is a question: answer with choose/);
  });

  it('declines a question, approves or rejects a plan with feedback, allows or denies a permission', () => {
    expect(resolveAnswer(one, { decision: 'deny', message: 'ask later' })).toEqual({ decision: 'deny', outcome: 'declined', reason: 'ask later' });
    expect(resolveAnswer(plan, { decision: 'approve' })).toEqual({ decision: 'allow', outcome: 'approved' });
    expect(resolveAnswer(plan, { decision: 'reject', message: 'smaller steps' })).toEqual({ decision: 'deny', outcome: 'rejected', reason: 'smaller steps' });
    expect(resolveAnswer(permission, { decision: 'allow' })).toEqual({ decision: 'allow', outcome: 'allowed' });
    expect(() => resolveAnswer(plan, { choose: 1 })).toThrow(/is a plan to approve: send decision "approve", or "reject"/);
    expect(() => resolveAnswer(permission, { decision: 'approve' })).toThrow(/is a permission request for Bash: send decision "allow" or "deny"/);
    expect(() => resolveAnswer(one, { decision: 'approve' })).toThrow(/is a question, not a plan/);
  });
});
