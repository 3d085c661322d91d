import { z } from 'zod';
import { isWaitingOnPerson, type AgentStatus } from '../store/types.js';
import { formatDuration } from '../util/duration.js';

/*
 * Health is a second axis beside status: is the agent doing what its status says? Judged
 * from progress signals only — transcript lines, hook events, streamed text (which lands in
 * the transcript). The raw screen is no signal: Claude Code's spinner and timer redraw it
 * every second whether or not anything happens.
 */

export const HEALTH_STATES = ['ok', 'stuck', 'waiting_long', 'crashed'] as const;

export const healthSchema = z.object({
  health: z.enum(HEALTH_STATES),
  reason: z.string(),
  since: z.string(),
});

export type Health = z.infer<typeof healthSchema>;

export interface HealthInput {
  status: AgentStatus;
  /** When the current status began (epoch ms). */
  statusSince: number;
  /** The latest progress signal (epoch ms): newest hook event or transcript write. */
  lastProgressAt: number | undefined;
  now: number;
  stuckAfterMs: number;
  waitingAfterMs: number;
  /** Claude Code ended without being asked to (see keeper.ts), with what tabcrew does about it. */
  crash?: { since: number; reason: string };
}

/** Whether an agent in this status can be stuck (busy) or waiting long (on a person): what the keeper tells of. */
export function canStall(status: string): boolean {
  return status === 'busy' || isWaitingOnPerson(status);
}

export function assessHealth(h: HealthInput): Health {
  const iso = (ms: number): string => new Date(ms).toISOString();
  if (h.crash) return { health: 'crashed', reason: h.crash.reason, since: iso(h.crash.since) };
  if (h.status === 'busy') {
    const quietSince = Math.max(h.lastProgressAt ?? h.statusSince, h.statusSince);
    if (h.now - quietSince >= h.stuckAfterMs) {
      return {
        health: 'stuck',
        reason: `busy with no new transcript line or hook event for ${formatDuration(h.now - quietSince)} (--stuck-after ${formatDuration(h.stuckAfterMs)}); look at it with get_agent_output`,
        since: iso(quietSince),
      };
    }
  }
  if (isWaitingOnPerson(h.status) && h.now - h.statusSince >= h.waitingAfterMs) {
    const what = h.status === 'waiting_answer' ? 'a question' : h.status === 'waiting_plan_approval' ? 'a plan approval' : 'a permission dialog';
    return {
      health: 'waiting_long',
      reason: `${what} has been open for ${formatDuration(h.now - h.statusSince)} (--waiting-after ${formatDuration(h.waitingAfterMs)}); answer it with answer_request or in the agent's tab`,
      since: iso(h.statusSince),
    };
  }
  return { health: 'ok', reason: 'ok', since: iso(h.statusSince) };
}

/** Backoff before relaunch attempt n (1-based) of an agent whose Claude Code exited by itself. */
export const RELAUNCH_BACKOFF_MS = [2_000, 10_000, 30_000] as const;
export const MAX_RELAUNCHES = RELAUNCH_BACKOFF_MS.length;
/** An agent that ran this long after its last relaunch starts counting attempts afresh. */
export const RELAUNCH_RESET_MS = 10 * 60_000;

export type RelaunchDecision = { kind: 'wait'; untilMs: number } | { kind: 'relaunch'; attempt: number } | { kind: 'give_up' };

/** What to do about an agent whose Claude Code exited unasked, given the attempts so far. */
export function relaunchDecision(input: { attempts: number; exitedAt: number; lastAttemptAt?: number; now: number }): RelaunchDecision {
  if (input.attempts >= MAX_RELAUNCHES) return { kind: 'give_up' };
  const from = Math.max(input.exitedAt, input.lastAttemptAt ?? 0);
  const untilMs = from + RELAUNCH_BACKOFF_MS[input.attempts]!;
  return input.now >= untilMs ? { kind: 'relaunch', attempt: input.attempts + 1 } : { kind: 'wait', untilMs };
}
