import { join } from 'node:path';
import type { AuditLog } from '../audit/audit-log.js';
import type { Logger } from '../audit/logger.js';
import { hookSteps, type DerivedStatus } from '../claude/hook-status.js';
import { agentDirFor } from '../claude/launch.js';
import { classifyScreen } from '../claude/screen.js';
import { AgentWatch, claudeConfigDir } from '../claude/watch.js';
import type { RuntimeWatch } from './runtime-watch.js';
import { SpoolChanges } from './spool-changes.js';
import type { StateStore } from '../store/state-store.js';
import { isWaitingOnPerson, type AgentRecord, type AgentStatus, type SessionRecord, type StatusSource } from '../store/types.js';
import type { TabInfo, TerminalBackend } from '../terminals/backend.js';
import { agentOf, handleOf, sessionOf, setStatus } from './roster.js';
import type { FileLook } from '../util/file-look.js';

export interface StatusChange {
  agent: string;
  session_id: string;
  from: AgentStatus;
  to: AgentStatus;
  source: StatusSource;
  /** A status the hooks moved through between two looks that no longer stands (a short turn's busy, a dialog answered). */
  passed?: true;
}

/** A status as observed now, with the agent's live tab (re-found by its tag) when it has one. */
export type LiveStatus = DerivedStatus & { tab?: TabInfo };

// ---- tab identity ------------------------------------------------------------------------

/** The tag a tab carries so a later tabcrew re-finds it: agent name and conversation. */
export function tabTag(agent: string, claudeSessionId: string): string {
  return `tabcrew:${agent}:${claudeSessionId}`;
}

export function parseTag(tag: string | null): { agent: string; claudeSessionId: string } | undefined {
  const m = /^tabcrew:(Agent_[0-9]+):([0-9a-f-]{36})$/.exec(tag ?? '');
  return m ? { agent: m[1]!, claudeSessionId: m[2]! } : undefined;
}

/** Listed tabs by their tag: a crew's look finds each agent's tab without scanning every tab. */
export type TabIndex = ReadonlyMap<string, readonly TabInfo[]>;

export function indexTabs(tabs: readonly TabInfo[]): TabIndex {
  const index = new Map<string, TabInfo[]>();
  for (const t of tabs) {
    if (t.tag === null) continue;
    const same = index.get(t.tag);
    if (same) same.push(t);
    else index.set(t.tag, [t]);
  }
  return index;
}

/**
 * An agent's tab among listed ones: the live tab carrying its tag, preferring the stored
 * handle when two carry it (the other one is a duplicate, reported by recovery). A stored
 * handle alone proves nothing: after a terminal restart its window id may name another tab.
 */
export function findTab(agent: AgentRecord, tabs: readonly TabInfo[] | TabIndex): TabInfo | undefined {
  if (!agent.claudeSessionId) return undefined;
  const tag = tabTag(agent.name, agent.claudeSessionId);
  const tagged = isIndex(tabs) ? (tabs.get(tag) ?? []) : tabs.filter((t) => t.tag === tag);
  return tagged.find((t) => t.id === agent.tab?.id && t.alive) ?? tagged.find((t) => t.alive) ?? tagged.find((t) => t.id === agent.tab?.id) ?? tagged[0];
}

function isIndex(tabs: readonly TabInfo[] | TabIndex): tabs is TabIndex {
  return tabs instanceof Map;
}

// ---- fusing hooks, terminal and screen ----------------------------------------------------

/**
 * How long a hook-reported `busy` must stand before an idle-looking screen may overrule it:
 * an Esc interrupt fires no hook, but a screen read in the instant between the prompt's
 * submission and the spinner appearing must not be mistaken for idle.
 */
export const BUSY_SCREEN_OVERRIDE_MS = 4000;

export type ScreenKind = ReturnType<typeof classifyScreen>;

/** Combines the hook verdict with what the screen shows, when the hooks leave doubt. */
export function withScreen(hooks: DerivedStatus | undefined, screen: ScreenKind, now: number): DerivedStatus {
  if (!hooks) {
    if (screen === 'idle') return { status: 'idle', source: 'screen', since: now };
    if (screen === 'permission_prompt') return { status: 'waiting_permission', source: 'screen', since: now };
    if (screen === 'busy') return { status: 'busy', source: 'screen', since: now };
    return { status: 'starting', source: 'screen', since: now };
  }
  if (hooks.status === 'busy' && screen === 'permission_prompt') {
    return { status: 'waiting_permission', source: 'screen', since: now };
  }
  // Answering a permission dialog with "No" or Esc fires no hook either.
  if ((hooks.status === 'busy' || isWaitingOnPerson(hooks.status)) && screen === 'idle' && now - (hooks.since ?? now) > BUSY_SCREEN_OVERRIDE_MS) {
    return { status: 'idle', source: 'screen', since: now };
  }
  return hooks;
}

/** Whether the hooks leave enough doubt that the screen is worth a look. */
export function needsScreen(hooks: DerivedStatus | undefined, now: number): boolean {
  if (!hooks) return true;
  return (hooks.status === 'busy' || isWaitingOnPerson(hooks.status)) && now - (hooks.since ?? now) > BUSY_SCREEN_OVERRIDE_MS;
}

/** A status that stands since an earlier call keeps its original time. */
function sinceIf(a: AgentRecord, status: AgentStatus, now: number): number {
  return a.status === status ? Date.parse(a.since) : now;
}

export interface ObserverDeps {
  store: StateStore;
  backend: TerminalBackend;
  log: Logger;
  runtimeDir: string;
  /** The environment agents run with: where their Claude Code keeps transcripts. */
  env: NodeJS.ProcessEnv;
  audit?: Pick<AuditLog, 'append'>;
  /** Hook activity as the OS reports it: waits for a spool end at the hook's write. */
  activity?: Pick<RuntimeWatch, 'on'>;
}

/**
 * What the observer reports for an agent the supervisor holds on purpose: an idle agent
 * with a budget or timeout hold is `paused` (it takes no messages until resume_agent), and
 * so is one paused by an API usage limit until its reset.
 * A hibernated agent without its tab is `hibernated`. Anything else stands as observed: a person may type into a paused agent's tab, and a
 * held agent whose Claude Code died is dead, not paused.
 */
export function withHold(agent: AgentRecord, live: LiveStatus): LiveStatus {
  // Asleep on purpose: no tab and no process is what hibernation looks like, not a loss.
  if (agent.hibernated && (live.status === 'detached' || live.status === 'exited' || live.status === 'hibernated')) {
    return { status: 'hibernated', source: 'supervisor', since: Date.parse(agent.hibernated.at) };
  }
  // Relaunches given up: the agent is dead until a person brings it back, whatever became of its tab.
  if (agent.relaunch?.gaveUp && (live.status === 'detached' || live.status === 'exited')) {
    return { status: 'exited', source: 'supervisor', since: Date.parse(agent.relaunch.lastAttemptAt) };
  }
  if (agent.hold && (live.status === 'idle' || live.status === 'paused')) {
    return { ...live, status: 'paused', source: 'supervisor', since: Date.parse(agent.hold.at) };
  }
  // An API limit ended its turn: paused until tabcrew resumes it after the reset (supervisor/limits.ts).
  if (agent.usageLimit?.paused && (live.status === 'idle' || live.status === 'paused')) {
    return { ...live, status: 'paused', source: 'supervisor', since: Date.parse(agent.usageLimit.at) };
  }
  return live;
}

/**
 * The one owner of "what is this agent doing": it keeps a watch (hook spool + transcript)
 * per conversation, re-finds each agent's tab by its tag, fuses hooks, terminal and screen
 * into a status, writes changes to the state, and tells listeners (and the audit log) about
 * each change it actually wrote.
 */
export class AgentObserver {
  private readonly watches = new Map<string, AgentWatch>();
  private readonly listeners = new Set<(c: StatusChange) => void>();
  /** How far into each spool the last look read, and the hooks' status there: where the next look's steps begin. */
  private readonly looked = new WeakMap<AgentWatch, { mark: number; launch?: string; hooks?: DerivedStatus }>();

  private readonly changes: SpoolChanges;

  constructor(private readonly deps: ObserverDeps) {
    this.changes = new SpoolChanges(deps.activity);
  }

  /** The watch of the agent's current conversation (none while it is cleared). */
  watch(agent: Pick<AgentRecord, 'claudeSessionId' | 'worktree'>, session: SessionRecord): AgentWatch | undefined {
    const id = agent.claudeSessionId;
    if (!id) return undefined;
    let watch = this.watches.get(id);
    if (!watch) {
      // A worktree agent's Claude Code runs in its worktree: its transcripts are filed under that cwd.
      const cwd = agent.worktree?.path ?? session.root;
      watch = new AgentWatch(id, join(agentDirFor(this.deps.runtimeDir, id), 'events.jsonl'), cwd, claudeConfigDir(this.deps.env), (ms) =>
        this.changes.wait(id, ms),
      );
      this.watches.set(id, watch);
    }
    return watch;
  }

  /**
   * The agent's status by its hooks alone: its spool is a local file, so this costs no
   * terminal round trip (mail's pump looks often; `observeOne` when the hooks leave doubt).
   */
  async hookStatus(agent: AgentRecord, session: SessionRecord): Promise<DerivedStatus | undefined> {
    const watch = this.watch(agent, session);
    if (!watch) return undefined;
    await watch.refresh();
    return watch.hookStatus(agent.launchId);
  }

  /** Drops the watch of a conversation that ended. */
  forget(claudeSessionId: string): void {
    this.watches.delete(claudeSessionId);
  }

  onChange(listener: (c: StatusChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Live status of agents of one session: one listing of the terminal's tabs for all of
   * them, the hook spools (local files), and — only for agents the hooks leave in doubt —
   * one batched screen read. Changes are written back to the state. With `look` (a status's),
   * the spools' stats are that look's.
   */
  async observe(session: SessionRecord, agents: AgentRecord[], look?: FileLook): Promise<Map<string, LiveStatus>> {
    const out = new Map<string, LiveStatus>();
    const now = Date.now();
    const running = agents.filter((a) => a.status !== 'cleared' && a.claudeSessionId);
    // The spools are local files: read side by side, and while the terminal lists its tabs.
    const [tabs] = await Promise.all([
      running.length ? this.deps.backend.listTabs() : Promise.resolve<TabInfo[]>([]),
      Promise.all(running.map((a) => this.watch(a, session)!.refresh(look))),
    ]);
    const byTag = indexTabs(tabs);
    const doubtful: { agent: AgentRecord; tab: TabInfo; hooks: DerivedStatus | undefined }[] = [];
    const live: { agent: AgentRecord; tab: TabInfo; watch: AgentWatch }[] = [];
    const moves = new Map<string, DerivedStatus[]>();
    for (const agent of agents) {
      if (agent.status === 'cleared' || !agent.claudeSessionId) {
        out.set(agent.name, { status: 'cleared', source: 'supervisor', since: Date.parse(agent.since) });
        continue;
      }
      const tab = findTab(agent, byTag);
      if (!tab) {
        // A reserved agent whose launch has not opened its tab yet is starting, not gone.
        const launching = agent.status === 'starting' && !agent.tab;
        out.set(
          agent.name,
          launching
            ? { status: 'starting', source: 'supervisor', since: Date.parse(agent.since) }
            : { status: 'detached', source: 'terminal', since: sinceIf(agent, 'detached', now) },
        );
        continue;
      }
      if (!tab.alive) {
        out.set(agent.name, { status: 'exited', source: 'terminal', since: sinceIf(agent, 'exited', now), tab });
        continue;
      }
      live.push({ agent, tab, watch: this.watch(agent, session)! });
    }
    for (const { agent, tab, watch } of live) {
      const hooks = watch.hookStatus(agent.launchId);
      moves.set(agent.name, this.stepsSinceLastLook(watch, agent.launchId, hooks));
      if (needsScreen(hooks, now)) doubtful.push({ agent, tab, hooks });
      else out.set(agent.name, { ...hooks!, tab });
    }
    if (doubtful.length) {
      const screens = await this.deps.backend.readScreens(
        doubtful.map((d) => d.tab),
        40,
      );
      for (const d of doubtful) {
        const screen = screens.get(d.tab.id);
        out.set(d.agent.name, { ...withScreen(d.hooks, screen === undefined ? 'unknown' : classifyScreen(screen), now), tab: d.tab });
      }
    }
    for (const agent of agents) out.set(agent.name, withHold(agent, out.get(agent.name)!));
    await this.persist(agents, out, moves);
    return out;
  }

  /**
   * The statuses the hooks moved through since this observer last read the spool. A turn can
   * begin and end between two looks (a short one, a loaded machine): the look at its end finds
   * the status it started from, yet the turn happened and listeners are told of it.
   */
  private stepsSinceLastLook(watch: AgentWatch, launch: string | undefined, hooks: DerivedStatus | undefined): DerivedStatus[] {
    const records = watch.spool.records;
    const last = this.looked.get(watch);
    this.looked.set(watch, { mark: records.length, launch, hooks });
    // A first look (nothing to compare), a spool that was replaced or a relaunch tells only where it stands.
    if (!last || last.mark > records.length || last.launch !== launch) return [];
    const fresh = records.slice(last.mark).filter((r) => !launch || r.launch === launch);
    return hookSteps(fresh, watch.claudeSessionId, last.hooks);
  }

  /** The live status of one agent, read from the state now. */
  async observeOne(name: string): Promise<LiveStatus> {
    const state = await this.deps.store.read();
    const agent = agentOf(state, name);
    const session = agent && sessionOf(state, agent);
    if (!agent || !session) return { status: 'detached', source: 'supervisor' };
    return (await this.observe(session, [agent])).get(name)!;
  }

  /**
   * Writes observed changes, each only if nobody changed the record meanwhile (another tool
   * call, another process): a change that lost that race is neither announced nor audited.
   */
  private async persist(agents: AgentRecord[], live: Map<string, LiveStatus>, moves: Map<string, DerivedStatus[]>): Promise<void> {
    // The hooks' steps are told when the status stands as the hooks left it (no screen, hold or terminal overruled them).
    const stepsOf = (a: AgentRecord): DerivedStatus[] => {
      const steps = moves.get(a.name) ?? [];
      const s = live.get(a.name);
      return s?.source === 'hook' && steps.at(-1)?.status === s.status ? steps : [];
    };
    const changed = agents.filter((a) => {
      const s = live.get(a.name);
      return s && (s.status !== a.status || s.source !== a.statusSource || (s.tab && s.tab.id !== a.tab?.id) || stepsOf(a).some((x) => x.status !== a.status));
    });
    if (!changed.length) return;
    // Batched: agents observed one at a time but at once (a fan-out's deliveries) share a save.
    const applied = await this.deps.store.updateBatched((state) => {
      const done: StatusChange[] = [];
      for (const was of changed) {
        const a = agentOf(state, was.name);
        const s = live.get(was.name)!;
        if (!a || a.claudeSessionId !== was.claudeSessionId || a.status !== was.status || a.since !== was.since) continue;
        const moved = s.status !== a.status || s.source !== a.statusSource;
        const steps = stepsOf(was);
        setStatus(a, s);
        if (s.tab) a.tab = handleOf(s.tab);
        let from = was.status;
        if (steps.some((x) => x.status !== from)) {
          for (const [i, step] of steps.entries()) {
            if (step.status === from) continue;
            done.push({
              agent: a.name,
              session_id: a.sessionId,
              from,
              to: step.status,
              source: step.source,
              ...(i < steps.length - 1 ? { passed: true as const } : {}),
            });
            from = step.status;
          }
        } else if (moved) done.push({ agent: a.name, session_id: a.sessionId, from: was.status, to: s.status, source: s.source });
      }
      return done;
    });
    // Appended together (in order): one write and fsync for a look's changes, not one after the other.
    const audited = applied.map((change) => {
      this.deps.log.info('agent status', change);
      return this.deps.audit?.append({
        type: 'status_change',
        agent: change.agent,
        session: change.session_id,
        from: change.from,
        to: change.to,
        source: change.source,
      });
    });
    await Promise.all(audited);
    for (const change of applied) for (const l of this.listeners) l(change);
  }
}
