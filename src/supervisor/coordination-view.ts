import type { Tokens } from '../claude/watch.js';
import type { RunMode, RunRecord, RunState, RunStep } from '../store/runs.js';
import type { State } from '../store/types.js';
import { parseVote, tallyVotes, type Tally } from './coordination-text.js';

/** What coordinate_agents, get_coordination and `tabcrew runs show` return for a run. */

export const RESULT_STATUSES = ['pending', 'working', 'done', 'failed', 'skipped'] as const;

export interface RunResult {
  agent: string;
  status: (typeof RESULT_STATUSES)[number];
  reply?: string;
  tokens: Tokens;
  /** From typing the message to the end of the turn (so far, while working). */
  ms: number;
  error?: string;
}

export interface ConsensusView extends Tally {
  answers: { answer: number; agent: string; reply: string }[];
  votes: { agent: string; vote: number | null; status: RunResult['status']; reason?: string; error?: string }[];
}

export interface RunView {
  run_id: string;
  mode: RunMode;
  state: RunState;
  session_id: string;
  created_at: string;
  deadline: string;
  ended_at?: string;
  caller?: string;
  agents: string[];
  spawned: string[];
  progress: { done: number; total: number };
  results: RunResult[];
  /** Agents whose reply had not come when the run stopped waiting (or so far). */
  still_working?: string[];
  consensus?: ConsensusView;
  cancelled?: true;
  summary?: string;
}

export type RunSummary = Pick<RunView, 'run_id' | 'session_id' | 'mode' | 'state' | 'created_at' | 'ended_at' | 'agents' | 'progress' | 'summary'>;

/** The tokens of a step that has none on record. */
export const ZERO: Tokens = { input: 0, output: 0, cache_read: 0, cache_creation: 0 };

function resultOf(s: RunStep, now: number): RunResult {
  const status: RunResult['status'] = s.status === 'sending' ? 'working' : s.status;
  const ms = s.sentAt ? Math.max(0, (s.endedAt ? Date.parse(s.endedAt) : now) - Date.parse(s.sentAt)) : 0;
  return { agent: s.agent, status, ...(s.reply !== undefined ? { reply: s.reply } : {}), tokens: s.tokens ?? ZERO, ms, ...(s.error ? { error: s.error } : {}) };
}

export function consensusOf(run: RunRecord): ConsensusView | undefined {
  if (run.mode !== 'consensus') return undefined;
  const answered = run.steps.filter((s) => s.round === 1 && s.status === 'done');
  const answers = answered.map((s, i) => ({ answer: i + 1, agent: s.agent, reply: s.reply ?? '' }));
  const ballots = run.steps.filter((s) => s.round === 2);
  const votes = ballots.map((s) => {
    const vote = s.status === 'done' ? parseVote(s.reply, answers.length) : null;
    const why = s.status === 'done' && vote === null ? 'no valid `VOTE: <n>` line in the reply' : undefined;
    return { agent: s.agent, vote, status: resultOf(s, Date.now()).status, ...(why ? { reason: why } : {}), ...(s.error ? { error: s.error } : {}) };
  });
  return {
    answers,
    votes,
    ...tallyVotes(
      answers,
      votes.map((v) => v.vote),
    ),
  };
}

/** The state a run ends in, from its steps. */
export function finalOutcome(run: RunRecord): RunState {
  const steps = run.steps;
  const done = steps.filter((s) => s.status === 'done').length;
  if (run.mode === 'sequential' && steps.some((s) => s.status === 'failed')) return 'failed';
  if (run.mode === 'consensus') {
    const c = consensusOf(run)!;
    if (c.answers.length < 2 || !c.votes.some((v) => v.vote !== null)) return done ? 'partial' : 'failed';
    return done === steps.length && steps.length === run.agents.length + c.answers.length ? 'done' : 'partial';
  }
  if (done === steps.length) return 'done';
  return done ? 'partial' : 'failed';
}

export function summaryOf(run: RunRecord, opts: { cancelled: boolean; now: number }): string {
  const why = opts.cancelled
    ? ' (cancelled)'
    : opts.now >= Date.parse(run.deadline)
      ? ` (timeout of ${Math.round((Date.parse(run.deadline) - Date.parse(run.createdAt)) / 1000)} s)`
      : '';
  const working = run.steps.filter((s) => s.status === 'working' || s.status === 'sending').map((s) => s.agent);
  const failed = run.steps.filter((s) => s.status === 'failed');
  const tail = [
    working.length ? `still working: ${working.join(', ')}${why}` : '',
    failed.length ? `failed: ${failed.map((s) => `${s.agent} (${s.error ?? 'no reason'})`).join('; ')}` : '',
  ]
    .filter(Boolean)
    .join('; ');
  if (run.mode === 'sequential') {
    const at = run.steps.findIndex((s) => s.status === 'failed');
    if (at >= 0)
      return `The pipeline stopped at step ${at + 1} of ${run.steps.length} (${run.steps[at].agent}): ${(run.steps[at].error ?? 'failed').replace(/\.$/, '')}.`;
    const done = run.steps.filter((s) => s.status === 'done').length;
    if (done === run.steps.length) return `All ${done} steps of the pipeline replied; the last reply (${run.steps[done - 1].agent}) is the result.`;
    return `${done} of ${run.steps.length} steps of the pipeline replied${tail ? `; ${tail}` : why}.`;
  }
  if (run.mode === 'consensus') {
    const c = consensusOf(run)!;
    if (c.answers.length < 2) return `Fewer than two agents answered, so there was no vote${tail ? `; ${tail}` : why}.`;
    const cast = c.votes.filter((v) => v.vote !== null).length;
    if (!cast) return `No valid vote was cast${tail ? `; ${tail}` : why}.`;
    if (c.tie) {
      const top = Math.max(...c.tally.map((t) => t.votes));
      const tied = c.tally.filter((t) => t.votes === top).map((t) => `${t.answer} (${t.agent})`);
      return `Tie: answers ${tied.join(' and ')} have ${top} vote${top === 1 ? '' : 's'} each; no winner${tail ? `; ${tail}` : ''}.`;
    }
    const w = c.winner!;
    const votes = c.tally[w.answer - 1].votes;
    return `Answer ${w.answer} (${w.agent}) won with ${votes} of ${cast} votes (agreement ${c.agreement})${tail ? `; ${tail}` : ''}.`;
  }
  const done = run.steps.filter((s) => s.status === 'done').length;
  return `${done} of ${run.steps.length} agents replied${tail ? `; ${tail}` : why}.`;
}

export function runView(run: RunRecord, _state: State, now: number): RunView {
  const main = run.steps.filter((s) => s.round === 1);
  const results = main.map((s) => resultOf(s, now));
  const working = run.steps.filter((s) => s.status === 'working' || s.status === 'sending').map((s) => s.agent);
  const settled = run.steps.filter((s) => s.status === 'done' || s.status === 'failed' || s.status === 'skipped').length;
  const total = run.mode === 'consensus' && !run.steps.some((s) => s.round === 2) ? run.steps.length * 2 : run.steps.length;
  const consensus = consensusOf(run);
  return {
    run_id: run.id,
    mode: run.mode,
    state: run.state,
    session_id: run.sessionId,
    created_at: run.createdAt,
    deadline: run.deadline,
    ...(run.endedAt ? { ended_at: run.endedAt } : {}),
    ...(run.caller ? { caller: run.caller } : {}),
    agents: run.agents,
    spawned: run.spawned,
    progress: { done: settled, total },
    results,
    ...(working.length ? { still_working: working } : {}),
    ...(consensus ? { consensus } : {}),
    ...(run.cancelled ? { cancelled: true as const } : {}),
    ...(run.summary ? { summary: run.summary } : {}),
  };
}

/** A run in a list (list_runs, `tabcrew runs`): its view without the replies. */
export function runSummary(v: RunView): RunSummary {
  return {
    run_id: v.run_id,
    session_id: v.session_id,
    mode: v.mode,
    state: v.state,
    created_at: v.created_at,
    ...(v.ended_at ? { ended_at: v.ended_at } : {}),
    agents: v.agents,
    progress: v.progress,
    ...(v.summary ? { summary: v.summary } : {}),
  };
}

/** How many settled agents a progress notice names. */
const NAMED = 8;

/** The MCP progress notification of a running run: how many steps settled, who replied (latest first), who still works. */
export function runProgress(run: RunRecord): { progress: number; total: number; message: string } {
  const settled = run.steps.filter((s) => s.status === 'done' || s.status === 'failed' || s.status === 'skipped');
  const waiting = run.steps.filter((s) => s.status === 'working' || s.status === 'sending').map((s) => s.agent);
  // Every settled agent is named, latest first (at most NAMED): steps that end together are saved in
  // one batch, so a notice naming only the latest would never name the others.
  const ended = [...run.steps].filter((s) => s.endedAt).sort((a, b) => Date.parse(b.endedAt!) - Date.parse(a.endedAt!));
  const word = (s: (typeof ended)[number]) => `${s.agent} ${s.status === 'done' ? (s.round === 2 ? 'voted' : 'replied') : 'failed'}`;
  const more = ended.length > NAMED ? `, ${ended.length - NAMED} more` : '';
  const lastWord = ended.length ? `${ended.slice(0, NAMED).map(word).join(', ')}${more}; ` : '';
  return {
    progress: settled.length,
    total: run.steps.length + (run.mode === 'consensus' && !run.steps.some((s) => s.round === 2) ? run.agents.length : 0),
    message: `${lastWord}${settled.length} of ${run.steps.length} settled${waiting.length ? `; working: ${waiting.join(', ')}` : ''}`,
  };
}

/** Ends a run's record: in a pipeline, the steps after a failed one are skipped; its outcome, summary and end time are set. */
export function endRun(r: RunRecord, opts: { cancelled: boolean; now: number }): void {
  if (r.mode === 'sequential') {
    const failedAt = r.steps.findIndex((x) => x.status === 'failed');
    if (failedAt >= 0) for (const x of r.steps.slice(failedAt + 1)) if (x.status === 'pending') x.status = 'skipped';
  }
  r.state = finalOutcome(r);
  r.summary = summaryOf(r, opts);
  r.endedAt = new Date(opts.now).toISOString();
}
