import { describe, expect, it } from 'vitest';
import { planAnswerArgs, questionAnswerArgs } from '../../src/server/http/dashboard/requests.js';

/** What the dashboard's request panel sends to answer_request for the taps a person made. */
const one = {
  request_id: 'p-00000000000000a1',
  questions: [{ question: 'Which color?', options: [{ label: 'Red' }, { label: 'Blue' }], multi_select: false }],
};
const two = {
  request_id: 'p-00000000000000a2',
  questions: [...one.questions, { question: 'Which sizes?', options: [{ label: 'S' }, { label: 'M' }, { label: 'L' }], multi_select: true }],
};

describe("the dashboard's answers to questions and plans", () => {
  it('a tapped option is sent by its number, confirmed by the tap (security level HIGH)', () => {
    expect(questionAnswerArgs(one, [new Set([1])], [''])).toEqual({ request_id: one.request_id, answers: [{ choose: 2 }], confirm: one.request_id });
    expect(questionAnswerArgs(one, [new Set()], ['  Green  '])).toEqual({ request_id: one.request_id, answers: [{ text: 'Green' }], confirm: one.request_id });
  });

  it('several questions are sent together, a multi-select one as a list, and not before each has an answer', () => {
    expect(questionAnswerArgs(two, [new Set([0]), new Set([2, 0])], ['', ''])).toEqual({
      request_id: two.request_id,
      answers: [{ choose: 1 }, { choose: [1, 3] }],
      confirm: two.request_id,
    });
    expect(questionAnswerArgs(two, [new Set([0]), new Set()], ['', ''])).toBeUndefined();
  });

  it('a plan is approved with the confirmation, rejected with the feedback typed (never confirmed)', () => {
    expect(planAnswerArgs({ request_id: 'p-1' }, true)).toEqual({ request_id: 'p-1', decision: 'approve', confirm: 'p-1' });
    expect(planAnswerArgs({ request_id: 'p-1' }, false, ' smaller steps ')).toEqual({ request_id: 'p-1', decision: 'reject', message: 'smaller steps' });
    expect(planAnswerArgs({ request_id: 'p-1' }, false, '')).toEqual({ request_id: 'p-1', decision: 'reject' });
  });
});
