import { randomBytes } from 'node:crypto';

/*
 * Merges into one session's base run one at a time, in the order asked: a merge never runs
 * beside another on the same base (list_merges shows the queue). The queue lives in this
 * process; a merge by another tabcrew process on the same base is caught by update-ref's
 * old-value check (review/merge.ts) and refused.
 */

export const MERGE_STATES = ['queued', 'running', 'done', 'refused', 'failed'] as const;
export type MergeState = (typeof MERGE_STATES)[number];

export interface MergeEntry {
  merge_id: string;
  session_id: string;
  agent: string;
  state: MergeState;
  dry_run?: true;
  queued_at: string;
  started_at?: string;
  finished_at?: string;
  base_branch?: string;
  base_before?: string;
  base_after?: string;
  commit?: string;
  conflicts?: string[];
  reason?: string;
}

/** Finished entries kept per session for list_merges. */
const KEEP = 50;

export class MergeQueue {
  private readonly tails = new Map<string, Promise<unknown>>();
  private readonly entries = new Map<string, MergeEntry[]>();

  /**
   * Runs `work` after every merge queued before it on the session; its result or refusal is
   * recorded on the entry by `settle`.
   */
  async enqueue<T>(
    sessionId: string,
    agent: string,
    opts: { dry_run?: boolean },
    work: () => Promise<T>,
    settle: (entry: MergeEntry, outcome: { ok: T } | { error: Error }) => void,
  ): Promise<T> {
    const entry: MergeEntry = {
      merge_id: `mg-${randomBytes(5).toString('hex')}`,
      session_id: sessionId,
      agent,
      state: 'queued',
      ...(opts.dry_run ? { dry_run: true as const } : {}),
      queued_at: new Date().toISOString(),
    };
    const list = this.entries.get(sessionId) ?? [];
    list.push(entry);
    this.entries.set(sessionId, list);
    const prev = this.tails.get(sessionId) ?? Promise.resolve();
    const mine = prev
      .catch(() => undefined)
      .then(async () => {
        entry.state = 'running';
        entry.started_at = new Date().toISOString();
        try {
          const ok = await work();
          entry.state = 'done';
          settle(entry, { ok });
          return ok;
        } catch (e) {
          settle(entry, { error: e as Error });
          throw e;
        } finally {
          entry.finished_at = new Date().toISOString();
          this.trim(sessionId);
        }
      });
    this.tails.set(sessionId, mine);
    void mine
      .finally(() => {
        if (this.tails.get(sessionId) === mine) this.tails.delete(sessionId);
      })
      .catch(() => undefined);
    return mine;
  }

  list(sessionId: string): MergeEntry[] {
    return (this.entries.get(sessionId) ?? []).map((e) => structuredClone(e));
  }

  private trim(sessionId: string): void {
    const list = this.entries.get(sessionId) ?? [];
    const finished = list.filter((e) => e.finished_at);
    if (finished.length <= KEEP) return;
    const drop = new Set(finished.slice(0, finished.length - KEEP));
    this.entries.set(
      sessionId,
      list.filter((e) => !drop.has(e)),
    );
  }
}
