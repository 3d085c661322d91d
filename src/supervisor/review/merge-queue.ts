import { randomBytes } from 'node:crypto';
import type { StateStore } from '../../store/state-store.js';
import type { MergeRecord } from '../../store/merges.js';
import type { State } from '../../store/types.js';
import { heartbeat, type Owner } from '../owner.js';

export { MERGE_STATES, type MergeState } from '../../store/merges.js';

/*
 * Merges into one session's base run one at a time, in the order asked: a merge never runs
 * beside another on the same base (list_merges shows the queue). Each merge is a record in
 * the state (store/merges.ts), saved as it is queued, starts, is about to move the base and
 * ends, so a restart still lists the session's merges; one whose process is gone while it was
 * queued or running is checked (`verify`: where the base is, put back if it was half moved)
 * and shown as interrupted. The order is kept in this process; a merge by another tabcrew
 * process on the same base is caught by update-ref's old-value check (review/merge.ts).
 */

/** A merge as list_merges shows it. */
export type MergeEntry = Omit<MergeRecord, 'owner' | 'moving'>;

/** Finished merges kept per session. */
export const KEEP_FINISHED = 50;

const UNFINISHED = new Set<MergeRecord['state']>(['queued', 'running']);

export interface MergeQueueDeps {
  store: Pick<StateStore, 'read' | 'update'>;
  owner: Owner;
  /** What a merge whose process stopped left behind, checked and repaired (review/merge-recovery.ts). */
  verify: (record: MergeRecord) => Promise<Pick<MergeRecord, 'reason' | 'commit' | 'base_after' | 'base_branch' | 'base_before'>>;
}

/** What a running merge tells its queue. */
export interface MergeControl {
  merge_id: string;
  /** Saved before the base moves: a restart then knows where it was and where it was going. */
  moving(move: NonNullable<MergeRecord['moving']>): Promise<void>;
}

/** The fields `settle` sets when a merge ends; state included. */
export type Settled = Partial<Omit<MergeRecord, 'merge_id' | 'session_id' | 'agent' | 'owner' | 'moving'>>;

export class MergeQueue {
  private readonly tails = new Map<string, Promise<unknown>>();
  private unfinished = 0;
  private beat?: NodeJS.Timeout;

  constructor(private readonly deps: MergeQueueDeps) {}

  /**
   * Runs `work` after every merge of the session queued before it; what `settle` makes of its
   * result or error is saved on the record.
   */
  async enqueue<T>(
    sessionId: string,
    agent: string,
    opts: { dry_run?: boolean },
    work: (control: MergeControl) => Promise<T>,
    settle: (outcome: { ok: T } | { error: Error }) => Settled,
  ): Promise<T> {
    const record: MergeRecord = {
      merge_id: `mg-${randomBytes(5).toString('hex')}`,
      session_id: sessionId,
      agent,
      state: 'queued',
      ...(opts.dry_run ? { dry_run: true as const } : {}),
      queued_at: new Date().toISOString(),
      owner: this.deps.owner.stamp(),
    };
    await this.deps.store.update((state) => {
      (state.merges ??= []).push(record);
      prune(state);
    });
    const id = record.merge_id;
    this.hold();
    const prev = this.tails.get(sessionId) ?? Promise.resolve();
    const mine = prev
      .catch(() => undefined)
      .then(async () => {
        try {
          // A merge another process left half done on this base is put right before this one looks at it.
          await this.recover(sessionId).catch(() => undefined);
          let ok: T;
          try {
            await this.patch(id, { state: 'running', started_at: new Date().toISOString() });
            ok = await work({ merge_id: id, moving: (move) => this.patch(id, { moving: move }) });
          } catch (e) {
            await this.finish(id, settle({ error: e as Error }));
            throw e;
          }
          await this.finish(id, { state: 'done', ...settle({ ok }) });
          return ok;
        } finally {
          this.release();
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

  /** The session's merges, oldest first; those another process left unfinished are checked and marked interrupted first. */
  async list(sessionId: string): Promise<MergeEntry[]> {
    await this.recover(sessionId);
    const state = await this.deps.store.read();
    return (state.merges ?? []).filter((m) => m.session_id === sessionId).map(({ owner: _o, moving: _m, ...entry }) => entry);
  }

  /**
   * Marks the merges whose process is gone (while they were queued or running) interrupted,
   * after `verify` has checked, and where needed put back, their base. Every session without
   * one given (`serve` at start).
   */
  async recover(sessionId?: string): Promise<void> {
    const state = await this.deps.store.read();
    const stale = (state.merges ?? []).filter(
      (m) => (sessionId === undefined || m.session_id === sessionId) && UNFINISHED.has(m.state) && !this.deps.owner.isLive(m.owner),
    );
    for (const m of stale) {
      const found = await this.deps
        .verify(m)
        .catch((e: Error) => ({ reason: `tabcrew stopped while this merge was ${m.state}, and its base could not be checked (${e.message}).` }));
      await this.deps.store.update((s) => {
        const r = s.merges?.find((x) => x.merge_id === m.merge_id);
        // Another process may have marked it meanwhile.
        if (!r || !UNFINISHED.has(r.state) || r.owner?.instance !== m.owner?.instance) return;
        Object.assign(r, { state: 'interrupted', finished_at: new Date().toISOString(), ...found });
        delete r.owner;
        delete r.moving;
      });
    }
  }

  private patch(id: string, fields: Partial<MergeRecord>): Promise<void> {
    return this.deps.store.update((state) => {
      const r = state.merges?.find((m) => m.merge_id === id);
      if (r) Object.assign(r, fields);
    });
  }

  private async finish(id: string, fields: Settled): Promise<void> {
    // A save that fails here leaves the record running; the next tabcrew checks it as interrupted.
    await this.deps.store
      .update((state) => {
        const r = state.merges?.find((m) => m.merge_id === id);
        if (!r) return;
        Object.assign(r, fields, { finished_at: new Date().toISOString() });
        delete r.owner;
        delete r.moving;
        prune(state);
      })
      .catch(() => undefined);
  }

  /** While this process has merges queued or running, their records say it is alive. */
  private hold(): void {
    if (this.unfinished++ === 0) {
      this.beat = heartbeat(this.deps.store, this.deps.owner, (state) => state.merges ?? []);
      this.beat.unref();
    }
  }

  private release(): void {
    if (--this.unfinished === 0) {
      clearInterval(this.beat);
      this.beat = undefined;
    }
  }
}

/** Keeps the merges of live sessions only, and of each at most KEEP_FINISHED finished ones (the newest). */
function prune(state: State): void {
  const sessions = new Set(state.sessions.map((s) => s.id));
  const finished = new Map<string, number>();
  for (const m of state.merges ?? []) if (!UNFINISHED.has(m.state)) finished.set(m.session_id, (finished.get(m.session_id) ?? 0) + 1);
  state.merges = (state.merges ?? []).filter((m) => {
    if (!sessions.has(m.session_id)) return false;
    if (UNFINISHED.has(m.state)) return true;
    const left = finished.get(m.session_id)!;
    if (left <= KEEP_FINISHED) return true;
    finished.set(m.session_id, left - 1);
    return false;
  });
}
