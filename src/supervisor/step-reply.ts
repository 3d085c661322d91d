import type { AgentWatch } from '../claude/watch.js';
import type { RunStep } from '../store/runs.js';
import type { Services } from './context.js';
import { ZERO } from './coordination-view.js';
import { agentAndSession } from './roster.js';
import { sleep } from './timing.js';
import { lookAtTurn, REPLY_WAIT_MS } from './turns.js';

const POLL_MS = 100;
/** Polls of the hook spool per look at the state. */
const STATE_EVERY = 10;
/** After a restart, how long a message that was being typed may take to show up in the hook spool. */
const SENDING_GRACE_MS = 15_000;

/** What waiting for a run step's reply uses: the state, the agent's watch, the limits, and a patch of the step. */
export interface ReplyDeps extends Pick<Services, 'store' | 'observer' | 'limits'> {
  patchStep(id: string, i: number, patch: (s: RunStep) => void): Promise<RunStep>;
}

/**
 * Waits for the end of the turn the step's message started: the UserPromptSubmit hook
 * record carrying its delivery id, then a Stop (or StopFailure / SessionEnd) after it;
 * the reply is the text of that turn in the transcript. Looks at least once, even past
 * the deadline: a tabcrew that restarted late still collects what finished meanwhile.
 * Undefined when the run stopped waiting first.
 */
export async function collectReply(
  deps: ReplyDeps,
  id: string,
  i: number,
  deadline: number,
  signal: AbortSignal,
  /** The step and its agent's watch as the caller has them (then the state is first read a second later). */
  first?: { step: RunStep; watch: AgentWatch },
): Promise<Pick<RunStep, 'status' | 'reply' | 'tokens' | 'error'> | undefined> {
  const graceUntil = Date.now() + SENDING_GRACE_MS;
  let stoppedAt: number | undefined;
  let looked = first;
  for (let n = 0; ; n++) {
    if (n > 0) {
      // A turn seen ending is read to the end (its transcript lines follow within moments).
      if ((signal.aborted || Date.now() >= deadline) && stoppedAt === undefined) return undefined;
      // The next look comes when a hook writes (the turn's end), at most POLL_MS later.
      await (looked ? looked.watch.nextChange(POLL_MS) : sleep(POLL_MS));
    }
    // The hook spool is polled often (an incremental file read); the state, which says
    // whether the run was cancelled or the agent deleted, once a second.
    if (!looked || (n > 0 && n % STATE_EVERY === 0)) {
      // A look at the run's step and its agent, not a copy of the whole state: 64 steps wait at once.
      const seen = await deps.store.peek((state) => {
        const run = state.runs?.find((r) => r.id === id);
        if (!run || run.cancelled) return undefined;
        const step = run.steps[i];
        return structuredClone({ step, found: agentAndSession(state, step.agent) });
      });
      if (!seen) return undefined;
      const { step, found } = seen;
      if (!found) return { status: 'failed', error: `${step.agent} was deleted during the run.` };
      const watch = deps.observer.watch(found.agent, found.session);
      if (!watch) return { status: 'failed', error: `${step.agent}'s conversation was cleared during the run.` };
      looked = { step, watch };
    }
    const { step, watch } = looked;
    const look = await lookAtTurn(watch, step.deliveryId, step.agent);
    if (look.kind === 'unsent') {
      if (step.status === 'sending' && Date.now() > graceUntil) {
        return {
          status: 'failed',
          error: `tabcrew stopped while typing the message to ${step.agent}, and Claude Code never reported it; look with get_agent_output.`,
        };
      }
      continue;
    }
    if (look.kind === 'running') continue;
    if (look.kind === 'failed') {
      // An API limit ended the turn: tabcrew resumes the agent after the reset, and the step follows that turn.
      const resumed = look.limitedAt === undefined ? undefined : await deps.limits?.resumeOf(step.agent, look.limitedAt);
      if (resumed === undefined) return { status: 'failed', error: look.error };
      if (resumed) looked = { step: await deps.patchStep(id, i, (s) => (s.deliveryId = resumed)), watch };
      continue;
    }
    stoppedAt ??= Date.now();
    if (look.turn?.reply !== undefined) return { status: 'done', reply: look.turn.reply, tokens: look.turn.tokens };
    if (Date.now() - stoppedAt > REPLY_WAIT_MS)
      return { status: 'failed', error: `${step.agent}'s turn ended without a text reply in its transcript.`, tokens: look.turn?.tokens ?? ZERO };
  }
}
