import { describe, expect, it } from 'vitest';
import { parseVote, tallyVotes } from '../../src/supervisor/coordination-text.js';

describe('consensus votes', () => {
  it('reads the last VOTE line of a reply, also in bold or quoted', () => {
    expect(parseVote('I like 1.\nVOTE: 2', 3)).toBe(2);
    expect(parseVote('**VOTE: 3**\nSTATUS Agent_1: done — voted', 3)).toBe(3);
    expect(parseVote('VOTE: 1\nOn second thought\nVOTE: 2', 3)).toBe(2);
  });

  it('a vote for an answer that does not exist, or none at all, is no vote', () => {
    expect(parseVote('VOTE: 4', 3)).toBeNull();
    expect(parseVote('I vote for two', 3)).toBeNull();
  });

  it('the answer with most votes wins; the agreement is its share of the votes cast', () => {
    const answers = ['a', 'b', 'c'].map((reply, i) => ({ agent: `Agent_${i + 1}`, reply }));
    expect(tallyVotes(answers, [2, 2, 1])).toMatchObject({ winner: { answer: 2, agent: 'Agent_2', reply: 'b' }, tie: false, agreement: 0.667 });
  });

  it('equal top votes are a tie without a winner', () => {
    const answers = ['a', 'b'].map((reply, i) => ({ agent: `Agent_${i + 1}`, reply }));
    const t = tallyVotes(answers, [1, 2]);
    expect(t.tie).toBe(true);
    expect(t.winner).toBeUndefined();
    expect(t.agreement).toBe(0.5);
  });
});
