import type { AuditLog } from '../audit/audit-log.js';
import type { Logger } from '../audit/logger.js';
import { transcriptPath } from '../claude/transcript.js';
import { readUsageSince, type CallUsage, type UsageRead } from '../claude/transcript-usage.js';
import type { StateStore } from '../store/state-store.js';
import type { AgentRecord, AgentUsageLedger, SessionRecord, State, TokenTotals } from '../store/types.js';
import { open } from 'node:fs/promises';
import { KeyedMutex } from './timing.js';
import { identityOf, lookAt, type FileLook } from '../util/file-look.js';

/*
 * The usage budgets and cost rest on, counted by tabcrew into the agent's record (encrypted
 * state) as the transcript grows. The transcript is the agent's to write; the ledger is not:
 * emptying, shortening or rewriting a transcript after it was counted changes nothing, and
 * totals only grow. Counted at every PreToolUse and Stop of the agent (its hook asks over the
 * agent socket and waits: the call's line is in the transcript then, and no tool has run
 * yet), at every keeper round and at every status read. docs/long-running.md#counted-usage.
 */

/** Calls remembered by id: lines of one call read in two goes, or read again, count once. */
export const RECENT_CALLS = 32;
/** How long a PreToolUse count waits for the call's line: 40 × 25 ms, within the hook's own 3 s wait. */
const CALL_WAIT_TRIES = 40;
const CALL_WAIT_STEP_MS = 25;
/** The call's line is among the last ones written: the end of the transcript is enough. */
const CALL_TAIL_BYTES = 256 * 1024;

/** The last `bytes` of a file, as text ('' when it cannot be read). */
async function readTail(path: string, bytes: number): Promise<string> {
  try {
    const fh = await open(path, 'r');
    try {
      const { size } = await fh.stat();
      const length = Math.min(size, bytes);
      const buf = Buffer.alloc(length);
      await fh.read(buf, 0, length, size - length);
      return buf.toString('utf8');
    } finally {
      await fh.close();
    }
  } catch {
    return '';
  }
}

const FIELDS = ['input', 'output', 'cache_read', 'cache_creation'] as const;

export const zeroTotals = (): TokenTotals => ({ input: 0, output: 0, cache_read: 0, cache_creation: 0 });

export function emptyLedger(): AgentUsageLedger {
  return { byModel: {}, recent: [], conversations: {} };
}

/** Tokens counted for one conversation while it is the agent's (zero when none were). */
export function conversationTokens(ledger: AgentUsageLedger | undefined, conversation: string | null): TokenTotals {
  const tokens = conversation ? ledger?.conversations[conversation]?.tokens : undefined;
  return tokens ? { ...tokens } : zeroTotals();
}

/**
 * Adds one read of one conversation's transcript to the ledger (mutates it). A call seen again
 * adds only what its line reports beyond what was counted for it (the last line of a call is
 * the one to trust, and may report more output); nothing ever lowers a total. A conversation
 * that is no longer the agent's (`past`) is dropped once a read finds nothing new.
 */
export function addRead(ledger: AgentUsageLedger, conversation: string, read: UsageRead, opts: { past?: boolean } = {}): void {
  const was = ledger.conversations[conversation];
  const conv = (ledger.conversations[conversation] ??= { offset: 0, head: read.cursor.head, tokens: zeroTotals() });
  for (const call of read.calls) addCall(ledger, conv.tokens, call);
  // Another process may have read further meanwhile: a cursor only moves back on a rewind.
  if (read.rewound || read.cursor.offset >= conv.offset) {
    conv.offset = read.cursor.offset;
    conv.head = read.cursor.head;
  }
  if (read.rewound) ledger.rewinds = (ledger.rewinds ?? 0) + 1;
  if (opts.past && was && !read.rewound && read.calls.length === 0 && read.cursor.offset === was.offset) delete ledger.conversations[conversation];
}

function addCall(ledger: AgentUsageLedger, conversationTokens: TokenTotals, call: CallUsage): void {
  const i = ledger.recent.findIndex((r) => r.id === call.id);
  const prev = i >= 0 ? ledger.recent.splice(i, 1)[0]! : undefined;
  const model = prev?.model ?? call.model;
  const kept = { id: call.id, model, ...zeroTotals() };
  const totals = (ledger.byModel[model] ??= zeroTotals());
  for (const f of FIELDS) {
    const before = prev?.[f] ?? 0;
    kept[f] = Math.max(before, call[f]);
    const delta = kept[f] - before;
    totals[f] += delta;
    conversationTokens[f] += delta;
  }
  ledger.recent.push(kept);
  if (ledger.recent.length > RECENT_CALLS) ledger.recent.splice(0, ledger.recent.length - RECENT_CALLS);
}

export interface UsageLedgerDeps {
  store: StateStore;
  /** Where agents' Claude Code keeps transcripts ($CLAUDE_CONFIG_DIR or ~/.claude). */
  claudeConfigDir: string;
  log: Logger;
  audit?: Pick<AuditLog, 'append'>;
}

type Countable = Pick<AgentRecord, 'name' | 'sessionId' | 'claudeSessionId' | 'pastClaudeSessionIds' | 'worktree' | 'usage'>;

export class UsageLedger {
  private readonly mutex = new KeyedMutex();
  /**
   * Per agent, the last count that found nothing new: while neither its record in the state
   * (what a count reads there: its conversations, where they are, what was counted) nor its
   * transcripts changed (their identities: size, times, inode), another count would find
   * nothing either, and the keeper's rounds and status reads skip reading them. The state
   * file's identity answers "unchanged" at the cost of one shared stat; a save of anything
   * else (a recovery records sixteen tabs) then costs a look at the record, not a read of
   * every agent's transcripts.
   */
  private readonly quiet = new Map<string, { stateId: string; record: string; transcripts: string; paths: string[]; ledger: AgentUsageLedger }>();

  constructor(private readonly deps: UsageLedgerDeps) {}

  /**
   * Counts what the agent's transcripts gained since the last count; returns its ledger (undefined: no such agent). Do not change it.
   * With `look` (a status's), the transcripts' stats are the ones that look takes: taken after
   * the call began and before anything is read, they serve as the identities a count compares.
   */
  async count(name: string, toolUseId?: string, look?: FileLook): Promise<AgentUsageLedger | undefined> {
    if (toolUseId) await this.untilCallWritten(name, toolUseId);
    return this.mutex.run(name, async () => {
      const stateId = await this.deps.store.identity();
      const memo = this.quiet.get(name);
      if (memo && stateId !== undefined && (await this.transcriptIds(memo.paths, look)) === memo.transcripts) {
        if (stateId === memo.stateId) return memo.ledger;
        if ((await this.deps.store.peek((state) => countedRecord(state, name))) === memo.record) {
          memo.stateId = stateId;
          return memo.ledger;
        }
      }
      this.quiet.delete(name);
      // The keeper counts every agent each round: one agent's records copied, not the crew's state.
      const found = await this.deps.store.peek((state) => {
        const agent = state.agents.find((a) => a.name === name);
        const session = agent && state.sessions.find((s) => s.id === agent.sessionId);
        return agent && session ? { ...structuredClone({ agent, session }), record: countedRecord(state, name)! } : undefined;
      });
      if (!found) return undefined;
      const { agent, session, record } = found;
      return this.countAgent(agent, session, look, (paths, transcripts, ledger) => {
        if (stateId !== undefined) this.quiet.set(name, { stateId, record, transcripts, paths, ledger });
      });
    });
  }

  /**
   * PreToolUse can run before Claude Code has written the call's line to the transcript (a
   * hook that starts fast wins that race), and the tool may then empty the transcript: wait,
   * briefly and bounded, until the line holding the call's id is there.
   */
  private async untilCallWritten(name: string, toolUseId: string): Promise<void> {
    const state = await this.deps.store.read();
    const agent = state.agents.find((a) => a.name === name);
    const session = agent && state.sessions.find((s) => s.id === agent.sessionId);
    if (!agent?.claudeSessionId || !session) return;
    const path = transcriptPath(this.deps.claudeConfigDir, agent.worktree?.path ?? session.root, agent.claudeSessionId);
    const needle = `"${toolUseId}"`;
    for (let i = 0; i < CALL_WAIT_TRIES; i++) {
      if ((await readTail(path, CALL_TAIL_BYTES)).includes(needle)) return;
      await new Promise((r) => setTimeout(r, CALL_WAIT_STEP_MS));
    }
  }

  private async transcriptIds(paths: string[], look?: FileLook): Promise<string> {
    const stats = await Promise.all(paths.map((p) => lookAt(p, look).catch(() => undefined)));
    return stats.map((st) => (st ? identityOf(st) : '-')).join('|');
  }

  private async countAgent(
    agent: Countable,
    session: SessionRecord,
    look: FileLook | undefined,
    /** Told when nothing was new: the transcripts read and their identities before they were read. */
    quiet?: (paths: string[], transcripts: string, ledger: AgentUsageLedger) => void,
  ): Promise<AgentUsageLedger> {
    const ledger = agent.usage;
    // The transcript's place is computed, never taken from the hook spool: the agent can write that.
    const cwd = agent.worktree?.path ?? session.root;
    const ids = new Set<string>(Object.keys(ledger?.conversations ?? {}));
    if (agent.claudeSessionId) ids.add(agent.claudeSessionId);
    // Counted for the first time: the conversations it had before (an agent of an older tabcrew).
    if (!ledger) for (const id of agent.pastClaudeSessionIds) ids.add(id);
    const paths = [...ids].map((id) => transcriptPath(this.deps.claudeConfigDir, cwd, id));
    const before = quiet ? await this.transcriptIds(paths, look) : '';
    const reads: { id: string; read: UsageRead }[] = [];
    for (const [i, id] of [...ids].entries()) {
      const cursor = ledger?.conversations[id];
      try {
        reads.push({ id, read: await readUsageSince(paths[i]!, cursor) });
      } catch (e) {
        this.deps.log.warn('usage: transcript unreadable', { agent: agent.name, claude_session_id: id, error: (e as Error).message });
      }
    }
    const changed = reads.filter(({ id, read }) => {
      const was = ledger?.conversations[id];
      return !was || read.calls.length > 0 || read.rewound || read.cursor.offset !== was.offset || id !== agent.claudeSessionId;
    });
    if (!changed.length && ledger) {
      if (reads.length === ids.size) quiet?.(paths, before, ledger);
      return ledger;
    }
    const updated = await this.deps.store.updateBatched((state) => {
      const a = state.agents.find((x) => x.name === agent.name);
      if (!a) return undefined;
      const l = (a.usage ??= emptyLedger());
      for (const { id, read } of changed) addRead(l, id, read, { past: id !== a.claudeSessionId });
      return structuredClone(l);
    });
    for (const { id, read } of changed.filter((c) => c.read.rewound)) {
      this.deps.log.warn('usage: transcript shortened or rewritten; what was counted stays counted', {
        agent: agent.name,
        claude_session_id: id,
        how: read.rewound,
      });
      await this.deps.audit?.append({
        type: 'budget',
        action: 'transcript_rewound',
        agent: agent.name,
        session: session.id,
        claude_session_id: id,
        how: read.rewound,
      });
    }
    return updated ?? ledger ?? emptyLedger();
  }
}

/** What a count of the agent reads in the state, as one string (undefined: no such agent or session). */
function countedRecord(state: Readonly<State>, name: string): string | undefined {
  const a = state.agents.find((x) => x.name === name);
  const s = a && state.sessions.find((x) => x.id === a.sessionId);
  if (!a || !s) return undefined;
  return JSON.stringify([a.claudeSessionId ?? null, a.pastClaudeSessionIds, a.worktree?.path ?? null, s.root, a.usage ?? null]);
}
