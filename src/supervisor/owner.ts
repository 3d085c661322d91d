import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { StateStore } from '../store/state-store.js';
import type { AgentRecord, State } from '../store/types.js';
import { isProcessAlive } from '../util/process-alive.js';

/**
 * Who is launching an agent, kept in its record from the reservation until its tab is
 * recorded, so that a second tabcrew on the same state (or this one's recovery) never
 * launches it again meanwhile. A launch refreshes the heartbeat; an owner whose process is
 * gone (pid reused: its start time differs) or whose heartbeat stopped is stale, and its
 * agent may be taken over.
 */
export type LaunchOwner = NonNullable<AgentRecord['owner']>;

export const HEARTBEAT_MS = 5_000;
/** A heartbeat older than this means the launch is dead, even if its process lives on. */
export const STALE_MS = 30_000;

/** The kernel's start time of a process (Linux /proc; elsewhere unknown, and the heartbeat decides). */
function startTimeOf(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22, counted after the parenthesised command name (which may hold spaces).
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}

export class Owner {
  readonly pid = process.pid;
  readonly pidStart = startTimeOf(process.pid);
  readonly host = hostname();
  /** Two supervisors in one process (tests, a future front server) are still two owners. */
  readonly instance = randomBytes(6).toString('hex');

  stamp(now = Date.now()): LaunchOwner {
    return { pid: this.pid, pidStart: this.pidStart, host: this.host, instance: this.instance, heartbeat: new Date(now).toISOString() };
  }

  isMine(o: LaunchOwner | undefined): boolean {
    return o?.instance === this.instance && o.pid === this.pid;
  }

  /** Whether another owner's launch may still be running. */
  isLive(o: LaunchOwner | undefined, now = Date.now()): boolean {
    if (!o) return false;
    if (this.isMine(o)) return true;
    if (now - Date.parse(o.heartbeat) > STALE_MS) return false;
    if (o.host !== this.host) return true;
    if (!isProcessAlive(o.pid)) return false;
    const start = startTimeOf(o.pid);
    return !start || !o.pidStart || start === o.pidStart;
  }
}

/**
 * Keeps this owner's claim on records alive while it works on them (an agent's launch, the
 * coordination runs it collects): every HEARTBEAT_MS, each record `owned` picks that is still
 * this owner's gets a fresh stamp. Stop it with clearInterval.
 */
export function heartbeat(store: Pick<StateStore, 'update'>, owner: Owner, owned: (state: State) => Iterable<{ owner?: LaunchOwner }>): NodeJS.Timeout {
  return setInterval(() => {
    void store
      .update((state) => {
        for (const r of owned(state)) if (owner.isMine(r.owner)) r.owner = owner.stamp();
      })
      .catch(() => undefined);
  }, HEARTBEAT_MS);
}
