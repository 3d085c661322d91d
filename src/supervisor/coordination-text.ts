import type { RunRecord, RunStep } from '../store/runs.js';

/**
 * What a coordination run types into each agent, and how a vote is read back. Everything
 * here is computed from the run record alone, so a tabcrew that restarted mid-run types
 * exactly what the first one would have.
 */

export function taskOf(run: RunRecord, step: RunStep): string {
  return step.task ?? run.task;
}

export function parallelPrompt(run: RunRecord, step: RunStep): string {
  const n = run.agents.length;
  return `${taskOf(run, step)}\n\n(Coordination run ${run.id}: ${n} agents work on this at once; your reply is collected when your turn ends.)`;
}

export function sequentialPrompt(run: RunRecord, index: number, previous?: { agent: string; reply: string }): string {
  const step = run.steps[index];
  const n = run.steps.length;
  const head = `${taskOf(run, step)}\n\n(Coordination run ${run.id}: step ${index + 1} of ${n} of a pipeline.`;
  if (!previous) return `${head} You are first; the next step gets your reply.)`;
  return `${head} The previous step, ${previous.agent}, replied:)\n\n<<<PREVIOUS REPLY\n${previous.reply}\nPREVIOUS REPLY>>>\n\nContinue from it.`;
}

export function consensusAnswerPrompt(run: RunRecord): string {
  return `${run.task}\n\n(Coordination run ${run.id}: consensus of ${run.agents.length} agents. Answer it yourself; next, every agent sees all answers, without names, and votes for the best.)`;
}

/** Round 2: the answers numbered 1..n in the order of the agents, without their names. */
export function consensusVotePrompt(run: RunRecord, answers: readonly string[]): string {
  const listed = answers.map((a, i) => `### Answer ${i + 1}\n${a.trim()}`).join('\n\n');
  return (
    `Consensus vote (coordination run ${run.id}) on the task:\n${run.task}\n\n` +
    `The ${answers.length} answers, anonymised:\n\n${listed}\n\n` +
    'Pick the best answer (your own may be among them). Give one or two sentences of reasons, then end your reply with a line of the form `VOTE: <n>`, where n is the number of the answer you choose.'
  );
}

const VOTE_LINE = /^[\s>*_`]*VOTE\s*:\s*[*_`]*\s*(\d+)/gimu;

/** The last `VOTE: <n>` line of a reply, when it names an answer that exists. */
export function parseVote(reply: string | undefined, answers: number): number | null {
  if (!reply) return null;
  let vote: number | null = null;
  for (const m of reply.matchAll(VOTE_LINE)) vote = Number(m[1]);
  return vote !== null && vote >= 1 && vote <= answers ? vote : null;
}

export interface Tally {
  tally: { answer: number; agent: string; votes: number }[];
  winner?: { answer: number; agent: string; reply: string };
  tie: boolean;
  /** Votes for the winning answer (or the tied ones, each) over the valid votes cast. */
  agreement: number;
}

export function tallyVotes(answers: readonly { agent: string; reply: string }[], votes: readonly (number | null)[]): Tally {
  const counts = answers.map((a, i) => ({ answer: i + 1, agent: a.agent, votes: 0 }));
  for (const v of votes) if (v !== null) counts[v - 1].votes++;
  const cast = votes.filter((v) => v !== null).length;
  const top = Math.max(0, ...counts.map((c) => c.votes));
  const leaders = counts.filter((c) => c.votes === top && top > 0);
  const agreement = cast ? Math.round((top / cast) * 1000) / 1000 : 0;
  if (leaders.length !== 1) return { tally: counts, tie: leaders.length > 1, agreement };
  const w = leaders[0];
  return { tally: counts, winner: { answer: w.answer, agent: w.agent, reply: answers[w.answer - 1].reply }, tie: false, agreement };
}
