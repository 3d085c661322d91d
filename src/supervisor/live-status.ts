import { classifyScreen } from '../claude/screen.js';
import type { AgentRecord, AgentStatus, SessionRecord, StatusSource } from '../store/types.js';
import type { TabInfo } from '../terminals/backend.js';
import { type SupervisorContext, watchFor } from './context.js';
import { findTab } from './lifecycle.js';
import { handleOf, setStatus } from './records.js';
import { needsScreen, withScreen, type DerivedStatus } from './status.js';

export interface StatusChange {
  agent: string;
  session_id: string;
  from: AgentStatus;
  to: AgentStatus;
  source: StatusSource;
}

/** A live tab, found by its tag, and the status read for it. */
export type LiveStatus = DerivedStatus & { tab?: TabInfo };

/** A status that stands since an earlier call keeps its original time. */
function sinceIf(a: AgentRecord, status: AgentStatus, now: number): number {
  return a.status === status ? Date.parse(a.since) : now;
}

/**
 * Live status of agents: one listing of the terminal's tabs for all of them, the hook
 * spools (local files), and — only for agents the hooks leave in doubt — one batched
 * screen read. Changes are written back to the state.
 */
export async function liveStatuses(
ctx: SupervisorContext,
session: SessionRecord,
agents: AgentRecord[],
listeners: ReadonlySet<(c: StatusChange) => void>,
): Promise<Map<string, LiveStatus>> {
  const out = new Map<string, LiveStatus>();
  const now = Date.now();
  const running = agents.filter((a) => a.status !== 'cleared' && a.claudeSessionId);
  const tabs: TabInfo[] = running.length ? await ctx.backend.listTabs() : [];
  const doubtful: { agent: AgentRecord; tab: TabInfo; hooks: DerivedStatus | undefined }[] = [];
  for (const agent of agents) {
    if (agent.status === 'cleared' || !agent.claudeSessionId) {
      out.set(agent.name, { status: 'cleared', source: 'supervisor', since: Date.parse(agent.since) });
      continue;
    }
    const tab = findTab(agent, tabs);
    if (!tab) {
      out.set(agent.name, { status: 'detached', source: 'terminal', since: sinceIf(agent, 'detached', now) });
      continue;
    }
    if (!tab.alive) {
      out.set(agent.name, { status: 'exited', source: 'terminal', since: sinceIf(agent, 'exited', now), tab });
      continue;
    }
    const watch = watchFor(ctx, agent, session)!;
    await watch.refresh();
    const hooks = watch.hookStatus(agent.launchId);
    if (needsScreen(hooks, now)) doubtful.push({ agent, tab, hooks });
    else out.set(agent.name, { ...hooks!, tab });
  }
  if (doubtful.length) {
    const screens = await ctx.backend.readScreens(
      doubtful.map((d) => d.tab),
      40,
    );
    for (const d of doubtful) {
      const screen = screens.get(d.tab.id);
      out.set(d.agent.name, { ...withScreen(d.hooks, screen === undefined ? 'unknown' : classifyScreen(screen), now), tab: d.tab });
    }
  }
  await persistStatuses(ctx, agents, out, listeners);
  return out;
}

async function persistStatuses(
ctx: SupervisorContext,
agents: AgentRecord[],
live: Map<string, LiveStatus>,
listeners: ReadonlySet<(c: StatusChange) => void>,
): Promise<void> {
  const changed = agents.filter((a) => {
    const s = live.get(a.name);
    return s && (s.status !== a.status || s.source !== a.statusSource || (s.tab && s.tab.id !== a.tab?.id));
  });
  if (!changed.length) return;
  await ctx.store.update((state) => {
    for (const a of state.agents) {
      const s = live.get(a.name);
      const was = changed.find((c) => c.name === a.name);
      // Only if nobody changed the record meanwhile (another tool call, another process).
      if (s && was && a.claudeSessionId === was.claudeSessionId && a.status === was.status) {
        setStatus(a, s);
        if (s.tab) a.tab = handleOf(s.tab);
      }
    }
  });
  for (const a of changed) {
    const now = live.get(a.name)!;
    if (now.status === a.status && now.source === a.statusSource) continue; // only the tab handle moved
    const change: StatusChange = { agent: a.name, session_id: a.sessionId, from: a.status, to: now.status, source: now.source };
    ctx.log.info('agent status', change);
    await ctx.audit?.append({ type: 'status_change', agent: a.name, session: a.sessionId, from: a.status, to: now.status, source: now.source });
    for (const l of listeners) l(change);
  }
}
