import type { AuditLog } from '../audit/audit-log.js';
import type { Logger } from '../audit/logger.js';
import { loadPriceTable } from '../claude/prices.js';
import { loadRolesFile, RoleCatalogue } from '../claude/roles.js';
import { claudeConfigDir } from '../claude/watch.js';
import type { Config } from '../config.js';
import type { AlertContext, AlertSink } from '../notify/alert.js';
import type { StateStore } from '../store/state-store.js';
import type { State } from '../store/types.js';
import type { TerminalBackend } from '../terminals/backend.js';
import { AgentDesk } from './agent-desk.js';
import { AgentLifecycle } from './agents.js';
import { Budgets } from './budgets.js';
import type { Services } from './context.js';
import { Coordinator } from './coordination.js';
import { Keeper } from './keeper.js';
import { LimitResumer } from './limit-resume.js';
import { Limits } from './limits.js';
import { MessageCenter } from './messages.js';
import { Notices } from './notices.js';
import { AgentObserver } from './observer.js';
import { Owner } from './owner.js';
import { PermissionBroker } from './permissions.js';
import { QueuedWork } from './queued-work.js';
import { Recovery } from './recovery.js';
import { Relauncher } from './relaunch.js';
import { ReviewDesk } from './review/review-desk.js';
import { realpathOrSelf, Roster } from './roster.js';
import { RuntimeWatch } from './runtime-watch.js';
import { Sessions } from './sessions.js';
import { StartQueue } from './start-queue.js';
import { StatusView } from './status-view.js';
import { ToolGuard } from './tool-guard.js';
import { CrewUsage, UsageMeter } from './usage.js';
import { UsageLedger } from './usage-ledger.js';

export interface SupervisorDeps {
  config: Config;
  store: StateStore;
  backend: TerminalBackend;
  log: Logger;
  env?: NodeJS.ProcessEnv;
  audit?: Pick<AuditLog, 'append'>;
  /** Where alerts are pushed (--notify-url; src/notify/), and the dashboard's address for their links. */
  alerts?: { sinks: AlertSink[]; dashboardUrl?: AlertContext['dashboardUrl'] };
}

/** The owners the Supervisor facade speaks for (docs/architecture.md maps them). */
export interface CrewParts {
  services: Services;
  sessions: Sessions;
  agents: AgentLifecycle;
  status: StatusView;
  recovery: Recovery;
  mail: MessageCenter;
  notices: Notices;
  keeper: Keeper;
  roles: RoleCatalogue;
  coordinator: Coordinator;
  permissions: PermissionBroker;
  /** API usage limits: pauses, refusals, queued work and resumes (limits.ts, limit-resume.ts, queued-work.ts). */
  limits: Limits;
  limitResumer: LimitResumer;
  queued: QueuedWork;
  /** Usage counted into the state as transcripts grow (usage-ledger.ts). */
  ledger: UsageLedger;
  /** PreToolUse answered for the agents' perl hooks (tool-guard.ts). */
  guard: ToolGuard;
  desk: AgentDesk;
  review: ReviewDesk;
}

/**
 * Makes every owner once, each with what it uses, in the order they need each other: the
 * wiring is here so that supervisor.ts stays the facade the tools read.
 */
export function assembleCrew(deps: SupervisorDeps): CrewParts {
  const env = deps.env ?? process.env;
  const c = deps.config;
  const activity = new RuntimeWatch(c.runtimeDir, deps.log);
  const observer = new AgentObserver({ store: deps.store, backend: deps.backend, log: deps.log, runtimeDir: c.runtimeDir, env, audit: deps.audit, activity });
  const services: Services = {
    ...deps,
    env,
    observer,
    owner: new Owner(),
    deliveries: new Set(),
    starts: new StartQueue(c.maxStarting),
    activity,
  };
  const ctx = services;
  const roster = new Roster(deps.store);
  const policy = { level: c.securityLevel, allowBypass: c.allowBypass, allowedRoots: c.allowedRoots.map(realpathOrSelf) };
  // Read at start: a bad roles file stops tabcrew with what is wrong in it.
  const roles = new RoleCatalogue(c.rolesFile ? loadRolesFile(c.rolesFile) : []);
  const notices = new Notices({ ...ctx, alerts: deps.alerts });
  const limits = (ctx.limits = new Limits({ ...ctx, notices }));
  const limitResumer = new LimitResumer({ ...ctx, limits, agents: () => agents, concurrency: c.maxStarting });
  const ledger = new UsageLedger({ store: deps.store, claudeConfigDir: claudeConfigDir(env), log: deps.log, audit: deps.audit });
  const usage = new CrewUsage({ meter: new UsageMeter(loadPriceTable(c.pricesFile), ledger) });
  const budgets = new Budgets({ ...ctx, usage, notices, roster });
  const agents = new AgentLifecycle({ ctx, roster, budgets, roles, policy });
  const relaunch = new Relauncher({ ...ctx, roster, notices, agents });
  const mail = new MessageCenter(ctx, agents, c.messageTtlS);
  const review = new ReviewDesk({
    store: deps.store,
    owner: ctx.owner,
    runtimeDir: c.runtimeDir,
    log: deps.log,
    audit: deps.audit,
    env,
    tell: async (sessionId, agent, text) => void (await mail.send({ from: 'supervisor', sessionId }, { to: agent, message: text, kind: 'note' })),
    tellOnOverlap: c.tellAgentsOnOverlap !== false,
    activity: ctx.activity,
    ...(c.mergeCheck ? { mergeCheck: { command: c.mergeCheck, timeoutMs: c.mergeCheckTimeoutMs ?? 10 * 60_000 } } : {}),
  });
  const status = new StatusView({ ...ctx, roster, usage, ledger, relaunch, review, limits });
  const keeperLimits = {
    checkAgent: limits.checkAgent.bind(limits),
    tick: limitResumer.tick.bind(limitResumer),
    dueAt: (state: State) => {
      const e = limits.episode(state);
      return e && limits.dueAt(e);
    },
  };
  return {
    services,
    roles,
    notices,
    limits,
    limitResumer,
    ledger,
    guard: new ToolGuard({ store: deps.store, runtimeDir: c.runtimeDir, env, ledger }),
    agents,
    mail,
    review,
    status,
    sessions: new Sessions({ ...ctx, policy, agents }),
    recovery: new Recovery({ ...ctx, roster, agents }),
    queued: new QueuedWork({ ...ctx, limits, agents }),
    keeper: new Keeper({ ...ctx, usage, budgets, relaunch, status, notices, roster, agents, limits: keeperLimits }),
    desk: new AgentDesk(ctx, mail),
    coordinator: new Coordinator(ctx, agents, notices),
    permissions: new PermissionBroker({ store: deps.store, runtimeDir: c.runtimeDir, log: deps.log, audit: deps.audit, activity: ctx.activity }),
  };
}
