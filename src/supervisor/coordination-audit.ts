import type { AuditLog } from '../audit/audit-log.js';
import type { RunRecord } from '../store/runs.js';
import type { SavedOutcomes } from './run-records.js';

type Audit = Pick<AuditLog, 'append'> | undefined;

/**
 * The audit records of saved step outcomes (`reply`, or `vote` in a consensus' second round:
 * outcome and reply length, never the text), appended at once so that they share one write.
 */
export function auditOutcomes(audit: Audit, run: string, saved: SavedOutcomes): Promise<unknown> | undefined {
  if (!audit || !saved.steps.length) return undefined;
  return Promise.all(
    saved.steps.map((step) =>
      audit.append({
        type: 'coordination',
        action: step.round === 2 ? 'vote' : 'reply',
        run,
        session: saved.sessionId,
        agent: step.agent,
        outcome: step.status === 'done' ? 'ok' : 'failed',
        ...(step.reply !== undefined ? { reply_chars: step.reply.length } : {}),
        ...(step.error ? { reason: step.error } : {}),
      }),
    ),
  );
}

/** The audit record of a run's end, with the state it ended in. */
export function auditEnd(audit: Audit, ended: RunRecord): Promise<unknown> | undefined {
  return audit?.append({
    type: 'coordination',
    action: 'end',
    run: ended.id,
    session: ended.sessionId,
    state: ended.state,
    outcome: ended.state === 'failed' ? 'failed' : 'ok',
  });
}
