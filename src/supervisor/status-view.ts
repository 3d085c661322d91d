import { readFile, stat } from 'node:fs/promises';
import { SCREEN_PADDING_ROWS, screenTail } from '../claude/screen-tail.js';
import { recentTurns, type Turn } from '../claude/transcript.js';
import type { AgentWatch, Tokens } from '../claude/watch.js';
import type { AgentRecord, AgentStatus, SessionRecord, StatusSource } from '../store/types.js';
import { childrenOf } from './children.js';
import type { Services } from './context.js';
import { assessHealth, type Health } from './health.js';
import type { Limits, LimitView } from './limits.js';
import { findTab, type LiveStatus } from './observer.js';
import { FileLook } from '../util/file-look.js';
import { lastOf } from '../util/last-of.js';
import type { Relauncher } from './relaunch.js';
import { agentsIn, findSession, type Roster } from './roster.js';
import { readTodo } from './todo.js';
import { sumUsage, type CrewUsage, type UsageView } from './usage.js';
import { conversationTokens, type UsageLedger } from './usage-ledger.js';
import type { Overlap } from './review/overlaps.js';
import type { ReviewDesk } from './review/review-desk.js';
import { worktreeStatus, type WorktreeStatus } from './worktrees.js';

export interface AgentStatusView {
  agent: string;
  status: AgentStatus;
  status_source: StatusSource;
  since: string;
  claude_session_id: string | null;
  tokens: Tokens;
  last_reply?: string;
  tasks: { open: number; done: number };
  /** Its role: a catalogue id with its title, or the caller's own text (custom). */
  role?: { id?: string; title: string; custom: boolean };
  /** The agent that spawned it, and the ones it spawned: the session's tree. */
  parent?: string;
  children?: string[];
  /** Tokens per model and cost (supervisor/usage.ts), health, and why it is paused. */
  usage: UsageView;
  health: Health;
  paused?: { reason: string; limit: string; value: number; used: number; at: string };
  /** Set while an API usage or rate limit pauses it (supervisor/limits.ts): tabcrew resumes it at resumes_at. */
  pause_reason?: 'usage_limit';
  resumes_at?: string;
  worktree?: WorktreeStatus;
  /** The OS sandbox of its last launch and what it shows (claude/sandbox.ts). */
  sandbox?: AgentRecord['sandbox'];
}

export interface SessionStatusView {
  session_id: string;
  name: string;
  root: string;
  agents: AgentStatusView[];
  todo: { path: string; open: number; done: number } | null;
  usage: UsageView;
  crew_usage: UsageView;
  /** Paths two agents of the session changed (supervisor/review/overlaps.ts). */
  overlaps: Overlap[];
  /** The crew's account and its API usage-limit state (supervisor/limits.ts). */
  limits: LimitView[];
}

export type StatusViewDeps = Pick<Services, 'config' | 'store' | 'backend' | 'observer'> & {
  roster: Pick<Roster, 'find'>;
  usage: CrewUsage;
  /** Tokens of the current conversation, as tabcrew counted them. */
  ledger: Pick<UsageLedger, 'count'>;
  /** The review wing: paths two agents of a session changed. */
  review: Pick<ReviewDesk, 'overlaps'>;
  relaunch: Pick<Relauncher, 'crashOf'>;
  limits: Pick<Limits, 'view'>;
};

/**
 * What get_session_status, get_agent_output and get_agent_transcript show of an agent,
 * assembled here and nowhere else: its live status (the observer's), tokens and last reply,
 * tasks, role, tree, usage and cost, health and hold. Each agent's watch is taken once per
 * call, and the crew's usage is read once per session status (each agent's comes from it).
 */
export class StatusView {
  constructor(private readonly deps: StatusViewDeps) {}

  async getSessionStatus(sessionRef: string): Promise<SessionStatusView> {
    const { store, observer } = this.deps;
    // Not copied (a copy of a 64 agents' state was a tenth of a status's CPU): nothing here changes it, and the
    // answer copies what it shows of a record.
    const state = await store.snapshot();
    const session = findSession(state, sessionRef);
    const agents = agentsIn(state, session.id);
    // Everything below is local file reads: they run side by side, not one agent after another,
    // and each file is stat'ed once (the transcript reader and the usage count share theirs).
    const look = new FileLook();
    const transcripts = new Map(
      agents.map((a) => [
        a.name,
        observer
          .watch(a, session)
          ?.readTranscript(look)
          .catch(() => undefined),
      ]),
    );
    const [statuses, todo, crew] = await Promise.all([observer.observe(session, agents, look), readTodo(session.root), this.deps.usage.crewUsage(state, look)]);
    const now = Date.now();
    const views = await Promise.all(
      agents.map(async (agent): Promise<AgentStatusView> => {
        const live = statuses.get(agent.name)!;
        const watch = observer.watch(agent, session);
        const transcript = await transcripts.get(agent.name);
        const counted = crew.ledgers.has(agent.name)
          ? crew.ledgers.get(agent.name)
          : await this.deps.ledger.count(agent.name, undefined, look).catch(() => undefined);
        const children = childrenOf(state, agent.name).map((c) => c.name);
        return {
          agent: agent.name,
          status: live.status,
          status_source: live.source,
          since: live.since ? new Date(live.since).toISOString() : agent.since,
          claude_session_id: agent.claudeSessionId,
          tokens: conversationTokens(counted, agent.claudeSessionId),
          ...(transcript?.lastReply !== undefined ? { last_reply: transcript.lastReply } : {}),
          tasks: todo?.byAgent.get(agent.name) ?? { open: 0, done: 0 },
          ...(agent.launch.role !== undefined ? { role: roleView(agent.launch) } : {}),
          ...(agent.parent ? { parent: agent.parent } : {}),
          ...(children.length ? { children } : {}),
          usage: crew.agents.get(agent.name) ?? (await this.deps.usage.usageOf(agent)),
          health: await this.healthOf(agent, session, live, now, watch, transcript ? (transcript.modifiedAt ?? null) : undefined),
          ...(agent.hold ? { paused: { ...agent.hold } } : {}),
          ...(agent.usageLimit?.paused ? { pause_reason: 'usage_limit' as const, resumes_at: agent.usageLimit.resumesAt } : {}),
          ...(agent.worktree ? { worktree: await worktreeStatus(agent.worktree) } : {}),
          ...(agent.sandbox ? { sandbox: sandboxView(agent.sandbox) } : {}),
        };
      }),
    );
    const overlaps = await this.deps.review.overlaps(session, agents);
    return {
      session_id: session.id,
      name: session.name,
      root: session.root,
      agents: views,
      todo: todo ? { path: todo.path, open: todo.open, done: todo.done } : null,
      usage: sumUsage(views.map((v) => v.usage)),
      crew_usage: crew.total,
      overlaps,
      // The account's limit state as this status began: nothing the looks above write touches it.
      limits: this.deps.limits.view(state),
    };
  }

  /** Health: stuck, waiting long or crashed, from the live status, the last progress and the relaunch record. */
  async healthOf(
    agent: AgentRecord,
    session: SessionRecord,
    live: LiveStatus,
    now = Date.now(),
    watch = this.deps.observer.watch(agent, session),
    /** When the transcript was last written, if the caller just read it (null: it is not there). */
    transcriptWritten?: number | null,
  ): Promise<Health> {
    const { config } = this.deps;
    // A status read off the screen is dated "now" at every look; the record keeps when it began.
    const recorded = agent.status === live.status ? Date.parse(agent.since) : Infinity;
    return assessHealth({
      status: live.status,
      statusSince: Math.min(live.since ?? Infinity, recorded, now),
      lastProgressAt: await lastProgress(watch, transcriptWritten),
      now,
      stuckAfterMs: config.stuckAfterMs,
      waitingAfterMs: config.waitingAfterMs,
      crash: this.deps.relaunch.crashOf(agent, session, live),
    });
  }

  async getAgentOutput(name: string, lines = 100): Promise<{ agent: string; screen: string; last_reply?: string; note?: string }> {
    const { agent, session } = await this.deps.roster.find(name);
    const watch = this.deps.observer.watch(agent, session);
    const transcript = watch ? await watch.readTranscript().catch(() => undefined) : undefined;
    const lastReply = transcript?.lastReply !== undefined ? { last_reply: transcript.lastReply } : {};
    const tab = agent.claudeSessionId ? findTab(agent, await this.deps.backend.listTabs()) : undefined;
    if (!tab) return { agent: name, screen: '', ...lastReply, note: `${name} has no tab (${agent.status === 'cleared' ? 'cleared' : 'its tab is gone'}).` };
    try {
      const screen = await this.deps.backend.readScreen(tab, lines + SCREEN_PADDING_ROWS);
      return { agent: name, screen: screenTail(screen, lines), ...lastReply };
    } catch (e) {
      return { agent: name, screen: '', ...lastReply, note: `${name}'s tab could not be read: ${(e as Error).message}` };
    }
  }

  /** The last `turns` prompts of the agent's conversation with their replies. */
  async getAgentTranscript(name: string, turns = 10): Promise<{ agent: string; claude_session_id: string | null; turns: Turn[] }> {
    const { agent, session } = await this.deps.roster.find(name);
    const watch = this.deps.observer.watch(agent, session);
    if (!watch) return { agent: name, claude_session_id: null, turns: [] };
    await watch.refresh();
    let text = '';
    try {
      text = await readFile(watch.transcriptPath(), 'utf8');
    } catch {
      // no transcript yet: the conversation has no message
    }
    return { agent: name, claude_session_id: agent.claudeSessionId, turns: recentTurns(text, turns) };
  }
}

function roleView(launch: AgentRecord['launch']): { id?: string; title: string; custom: boolean; read_only?: true } {
  if (launch.roleTitle)
    return { id: launch.role, title: launch.roleTitle, custom: false, ...(launch.rolePermissions?.read_only ? { read_only: true as const } : {}) };
  return { title: launch.role ?? '', custom: true };
}

function sandboxView(s: NonNullable<AgentRecord['sandbox']>): NonNullable<AgentRecord['sandbox']> {
  return { kind: s.kind, ...(s.paths ? { paths: { read: [...s.paths.read], write: [...s.paths.write], hidden: [...s.paths.hidden] } } : {}) };
}

/** The newest progress signal of the conversation: its latest hook record or transcript write. */
async function lastProgress(watch: AgentWatch | undefined, transcriptWritten?: number | null): Promise<number | undefined> {
  if (!watch) return undefined;
  const last = lastOf(watch.spool.records, (r) => r.session_id === watch.claudeSessionId);
  let written = transcriptWritten ?? undefined;
  if (transcriptWritten === undefined) {
    try {
      written = (await stat(watch.transcriptPath())).mtimeMs;
    } catch {
      // no transcript yet
    }
  }
  const times = [last?.ts, written].filter((t): t is number => t !== undefined);
  return times.length ? Math.max(...times) : undefined;
}
