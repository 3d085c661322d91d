import { describe, expect, it } from 'vitest';
import type { RunRecord, RunStep } from '../../src/store/runs.js';
import { parseVote, tallyVotes } from '../../src/supervisor/coordination-text.js';
import { finalOutcome, summaryOf } from '../../src/supervisor/coordination-view.js';

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

describe('how a run ends', () => {
  const run = (mode: RunRecord['mode'], steps: Partial<RunStep>[]): RunRecord => ({
    id: 'r-test0001',
    sessionId: 's-1',
    mode,
    task: 't',
    state: 'running',
    createdAt: new Date(0).toISOString(),
    deadline: new Date(600_000).toISOString(),
    agents: steps.map((s) => s.agent!),
    spawned: [],
    removeSpawned: false,
    steps: steps.map((s) => ({ round: 1, status: 'pending', ...s }) as RunStep),
  });

  it('a pipeline that failed at step 2 is failed, and the summary says where and why', () => {
    const r = run('sequential', [
      { agent: 'Agent_1', status: 'done', reply: 'a' },
      { agent: 'Agent_2', status: 'failed', error: 'Agent_2 is exited; nothing was typed.' },
      { agent: 'Agent_3', status: 'skipped' },
    ]);
    expect(finalOutcome(r)).toBe('failed');
    expect(summaryOf(r, { cancelled: false, now: 1 })).toBe('The pipeline stopped at step 2 of 3 (Agent_2): Agent_2 is exited; nothing was typed.');
  });

  it('a parallel run past its deadline with one reply is partial and names who is still working', () => {
    const r = run('parallel', [
      { agent: 'Agent_1', status: 'done', reply: 'a' },
      { agent: 'Agent_2', status: 'working' },
    ]);
    expect(finalOutcome(r)).toBe('partial');
    expect(summaryOf(r, { cancelled: false, now: 700_000 })).toBe('1 of 2 agents replied; still working: Agent_2 (timeout of 600 s).');
  });

  it('a parallel run where nobody replied is failed', () => {
    expect(finalOutcome(run('parallel', [{ agent: 'Agent_1', status: 'failed', error: 'x' }]))).toBe('failed');
  });
});
