import { existsSync } from 'node:fs';
import type { AuditLog } from '../audit/audit-log.js';
import type { AgentRecord, AgentStatus, SessionRecord, State } from '../store/types.js';
import type { TabInfo } from '../terminals/backend.js';
import { writeBoundaries } from './boundaries.js';
import type { Progress, Services } from './context.js';
import { findTab, parseTag } from './observer.js';
import { findSession, handleOf, sessionOf, type Roster } from './roster.js';
import { TabGate, type TabSeat } from './tab-gate.js';

/*
 * Recovery after a restart of tabcrew, the terminal app or the machine: planRecovery decides
 * what becomes of each agent (pure), and Recovery carries the plan out.
 */

export type RecoveryStep =
  /** Its tab is alive: keep it as it is. */
  | { kind: 'adopt'; agent: AgentRecord; session: SessionRecord; tab: TabInfo }
  /** Its tab is gone (or its program ended): open a new tab and resume the conversation. */
  | { kind: 'resume'; agent: AgentRecord; session: SessionRecord; deadTab?: TabInfo }
  /** Another live tabcrew is launching it right now: hands off. */
  | { kind: 'skip'; agent: AgentRecord; reason: string }
  | { kind: 'fail'; agent: AgentRecord; reason: string };

/** unknown_agent: no agent of this state has the tag; duplicate: the agent's tag is held by another live tab too. */
export const ORPHAN_KINDS = ['unknown_agent', 'duplicate'] as const;
/** resumed: `claude --resume`; restarted: no message yet, so started again under its id. */
export const RECOVERY_ACTIONS = ['resumed', 'restarted', 'would_resume'] as const;

export interface Orphan {
  tab: string;
  tag: string;
  title: string;
  why: (typeof ORPHAN_KINDS)[number];
  /** What a person can do about it. */
  fix: string;
}

export interface RecoveryPlan {
  steps: RecoveryStep[];
  orphans: Orphan[];
}

/**
 * What a restart (of tabcrew, the terminal app or the machine) requires, from the state
 * and one listing of the terminal's tabs. Cleared agents have no conversation to bring
 * back; an agent another live tabcrew is launching (`launching(agent)`) is left to it.
 * A tagged tab no agent owns, and a second live tab carrying an agent's tag, are reported,
 * never touched: the first may belong to another tabcrew sharing the terminal.
 */
export function planRecovery(state: State, tabs: readonly TabInfo[], onlySession?: string, launching: (a: AgentRecord) => boolean = () => false): RecoveryPlan {
  const steps: RecoveryStep[] = [];
  const kept = new Set<string>();
  for (const agent of state.agents) {
    if (onlySession && agent.sessionId !== onlySession) continue;
    if (!agent.claudeSessionId || agent.status === 'cleared') continue;
    // Hibernated agents stay asleep until a message or wake_agent wakes them.
    if (agent.hibernated && !findTab(agent, tabs)?.alive) continue;
    const tab = findTab(agent, tabs);
    if (tab) kept.add(tab.id);
    if (launching(agent)) {
      steps.push({ kind: 'skip', agent, reason: 'another tabcrew process is launching it right now' });
      continue;
    }
    const session = sessionOf(state, agent);
    if (!session) {
      steps.push({ kind: 'fail', agent, reason: `its session ${agent.sessionId} no longer exists` });
      continue;
    }
    if (tab?.alive) {
      steps.push({ kind: 'adopt', agent, session, tab });
    } else if (!existsSync(session.root)) {
      steps.push({ kind: 'fail', agent, reason: `its root ${session.root} no longer exists` });
    } else {
      steps.push({ kind: 'resume', agent, session, ...(tab ? { deadTab: tab } : {}) });
    }
  }
  const owned = new Set(state.agents.filter((a) => a.claudeSessionId).map((a) => `${a.name}:${a.claudeSessionId}`));
  const orphans: Orphan[] = [];
  for (const t of tabs) {
    if (onlySession && t.group !== onlySession) continue;
    const tag = parseTag(t.tag);
    if (!tag || kept.has(t.id)) continue;
    if (!owned.has(`${tag.agent}:${tag.claudeSessionId}`)) {
      orphans.push({
        tab: t.id,
        tag: t.tag!,
        title: t.title,
        why: 'unknown_agent',
        fix: 'No agent of this state owns it (another tabcrew on this terminal, or a deleted state). Close it yourself, or run recovery with close_orphans.',
      });
    } else if (t.alive) {
      orphans.push({
        tab: t.id,
        tag: t.tag!,
        title: t.title,
        why: 'duplicate',
        fix: `A second live tab running ${tag.agent}'s conversation: two Claude Code processes on one conversation. Close it (recovery with close_orphans closes it).`,
      });
    }
  }
  return { steps, orphans };
}

export interface RecoveredAgent {
  agent: string;
  claude_session_id: string;
  status: AgentStatus;
  action: (typeof RECOVERY_ACTIONS)[number];
}

export interface RecoveryReport {
  recovered: RecoveredAgent[];
  adopted: string[];
  failed: { agent: string; reason: string }[];
  orphans: Orphan[];
  /** Orphan tabs closed because close_orphans was asked. */
  closed_orphans?: string[];
  /** Agents another live tabcrew is launching: left to it. */
  skipped?: { agent: string; reason: string }[];
  dry_run?: true;
}

/** What resuming one agent came to: resumed (or restarted), failed with a reason, or left to another tabcrew. */
export type ResumeOutcome = RecoveredAgent | { agent: string; reason: string } | { agent: string; skipped: string };

export type RecoveryDeps = Pick<Services, 'config' | 'store' | 'backend' | 'log' | 'owner' | 'audit'> & {
  roster: Pick<Roster, 'patch'>;
  /** Launches an agent again with --resume, under its lock (supervisor/agents.ts). */
  agents: {
    resume(agent: AgentRecord, session: SessionRecord, deadTab: TabInfo | undefined, progress?: Progress, seat?: TabSeat): Promise<ResumeOutcome>;
    withLock<T>(name: string, work: () => Promise<T>): Promise<T>;
  };
};

export class Recovery {
  constructor(private readonly deps: RecoveryDeps) {}

  /**
   * Brings every agent back after a restart of tabcrew, the terminal app or the machine:
   * a live tab is adopted as it is; a tab that is gone gets a new tab in the agent's root
   * running `claude --resume <id>`, so the conversation continues; a root that is gone, or
   * a resume Claude Code refuses, is reported as failed with the reason. Agents are resumed
   * in parallel: each waits only for its own Claude Code to start.
   */
  async recover(input: { session?: string; dry_run?: boolean; close_orphans?: boolean } = {}, progress?: Progress): Promise<RecoveryReport> {
    if (!input.dry_run) await writeBoundaries(this.deps.store, this.deps.config);
    const state = await this.deps.store.read();
    const only = input.session ? findSession(state, input.session).id : undefined;
    const tabs = await this.deps.backend.listTabs();
    const plan = planRecovery(state, tabs, only, (a) => !this.deps.owner.isMine(a.owner) && this.deps.owner.isLive(a.owner));
    const report: RecoveryReport = { recovered: [], adopted: [], failed: [], orphans: plan.orphans, ...(input.dry_run ? { dry_run: true } : {}) };
    const resumes: RecoveryStep[] = [];
    for (const step of plan.steps) {
      if (step.kind === 'fail') {
        report.failed.push({ agent: step.agent.name, reason: step.reason });
      } else if (step.kind === 'skip') {
        (report.skipped ??= []).push({ agent: step.agent.name, reason: step.reason });
      } else if (step.kind === 'adopt') {
        report.adopted.push(step.agent.name);
        if (!input.dry_run && step.tab.id !== step.agent.tab?.id) await this.deps.roster.patch(step.agent.name, (a) => (a.tab = handleOf(step.tab)));
      } else if (input.dry_run) {
        report.recovered.push({ agent: step.agent.name, claude_session_id: step.agent.claudeSessionId!, status: 'detached', action: 'would_resume' });
      } else {
        resumes.push(step);
      }
    }
    let done = 0;
    // Their tabs asked for together, once every launch has its files (tab-gate.ts).
    const gate = new TabGate(resumes.length);
    const outcomes = await Promise.all(
      resumes.map(async (step) => {
        if (step.kind !== 'resume') throw new Error('unreachable');
        const seat = gate.seat();
        const outcome = await this.deps.agents
          .withLock(step.agent.name, () => this.deps.agents.resume(step.agent, step.session, step.deadTab, progress, seat))
          .finally(seat.leave);
        progress?.({
          progress: ++done,
          total: resumes.length,
          message: `${step.agent.name}: ${'reason' in outcome ? 'failed' : 'skipped' in outcome ? 'skipped' : outcome.action}`,
        });
        return outcome;
      }),
    );
    for (const outcome of outcomes) {
      if ('skipped' in outcome) (report.skipped ??= []).push({ agent: outcome.agent, reason: outcome.skipped });
      else if ('reason' in outcome) report.failed.push(outcome);
      else report.recovered.push(outcome);
    }
    if (input.close_orphans && !input.dry_run) {
      report.closed_orphans = [];
      for (const o of report.orphans) {
        const tab = tabs.find((t) => t.id === o.tab);
        if (
          tab &&
          (await this.deps.backend.closeTab(tab).then(
            () => true,
            () => false,
          ))
        )
          report.closed_orphans.push(o.tab);
      }
    }
    if (!input.dry_run) {
      // Appended together, in this order: the audit writer makes one fsync of the lot (group commit), not one per agent.
      const audit = this.deps.audit;
      const records: Parameters<AuditLog['append']>[0][] = [];
      for (const a of report.adopted) records.push({ type: 'recovery', action: 'adopt', agent: a, outcome: 'ok' });
      for (const r of report.recovered)
        records.push({ type: 'recovery', action: r.action, agent: r.agent, outcome: 'ok', claude_session_id: r.claude_session_id });
      for (const f of report.failed) records.push({ type: 'recovery', action: 'resume', agent: f.agent, outcome: 'failed', reason: f.reason });
      for (const k of report.skipped ?? []) records.push({ type: 'recovery', action: 'resume', agent: k.agent, outcome: 'skipped', reason: k.reason });
      for (const o of report.orphans) {
        const closed = report.closed_orphans?.includes(o.tab);
        records.push({ type: 'recovery', action: closed ? 'orphan_closed' : 'orphan_reported', outcome: 'ok', tab: o.tab, tag: o.tag, why: o.why });
      }
      await Promise.all(records.map((r) => audit?.append(r)));
    }
    this.deps.log.info('recovery', {
      recovered: report.recovered.map((r) => r.agent),
      adopted: report.adopted,
      failed: report.failed,
      skipped: report.skipped?.map((k) => k.agent) ?? [],
      orphans: report.orphans.length,
      dry_run: !!input.dry_run,
    });
    return report;
  }
}
