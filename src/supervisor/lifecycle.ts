import { agentSocketPath } from '../claude/agent-mcp-config.js';
import { prepareLaunch } from '../claude/launch.js';
import { newAgentSecret } from './agent-identity.js';
import { classifyScreen, findInputBox, isFirstRunDialog, trustDialogKeys, type FirstRunDialog } from '../claude/screen.js';
import { trustedIn } from '../claude/trust.js';
import { apiKeyStatus, apiKeyStatusIn, claudeConfigFile, readClaudeConfig, settleFirstRun } from '../claude/claude-config.js';
import { installedClaudeVersion } from '../claude/versions.js';
import { firstRunDialogProblem, screenStateWords } from '../claude/first-run.js';
import type { AgentRecord, SessionRecord } from '../store/types.js';
import type { AgentWatch } from '../claude/watch.js';
import type { TabHandle } from '../terminals/backend.js';
import type { AgentStatus } from '../store/types.js';
import { findOnPath } from '../util/find-on-path.js';
import type { Progress, Services } from './context.js';
import { findTab, tabTag } from './observer.js';
import { boundariesPath } from './boundaries.js';
import { heartbeat } from './owner.js';
import { denyRulesFor, type PolicyOptions } from './policy.js';
import { agentOf, otherRootsOf, setStatus } from './roster.js';
import { UserError } from './errors.js';
import { sleep } from './timing.js';
import { sandboxSetup } from './sandbox-choice.js';
import type { TabSeat } from './tab-gate.js';

type LaunchServices = Pick<Services, 'backend' | 'config' | 'env' | 'log' | 'observer' | 'store'>;

export interface LaunchResult {
  tab: TabHandle;
  launchId: string;
  ready: boolean;
  /** Claude Code ended (or its tab closed) before it was ready. */
  failed?: boolean;
  trust?: AgentRecord['trust'];
  apiKey?: AgentRecord['apiKey'];
  onboarding?: AgentRecord['onboarding'];
  note?: string;
  sandbox: NonNullable<AgentRecord['sandbox']>;
}

/** Opens the agent's tab and starts (or resumes) its conversation; waits until it is ready. */
export async function launchAgent(
  ctx: LaunchServices,
  agent: AgentRecord,
  session: SessionRecord,
  peers: string[],
  /**
   * secret: this launch's, already recorded by the caller (a resume records it with its claim);
   * seat: its place among launches that ask for their tabs together (tab-gate.ts).
   */
  opts: { resume: boolean; deny?: string[]; progress?: Progress; secret?: string; seat?: TabSeat },
): Promise<LaunchResult> {
  const claudeSessionId = agent.claudeSessionId!;
  const watch = ctx.observer.watch(agent, session)!;
  // A new secret at every launch: whatever held the last one speaks for nobody now.
  let secret = opts.secret;
  if (secret === undefined) {
    const made = newAgentSecret();
    secret = made.secret;
    // Batched: agents created together record their secrets in one save.
    await ctx.store.updateBatched((state) => {
      const a = state.agents.find((x) => x.name === agent.name && x.claudeSessionId === claudeSessionId);
      if (a) a.secretSha256 = made.sha256;
    });
  }
  // Before the tab: Claude Code asks about its setup and the key before anything else, and no hook runs meanwhile.
  // Before the launch too: the config file this may create is one the agent's sandbox must show.
  const { apiKey, onboarding } = await settleApiKey(ctx, agent.name);
  const launch = await prepareLaunch({
    agent: agent.name,
    sessionName: session.name,
    root: session.root,
    ...agent.launch,
    peers,
    deny: opts.deny,
    sessionId: session.id,
    boundariesFile: ctx.config.securityLevel === 'LOW' ? undefined : boundariesPath(ctx.config.runtimeDir),
    claudeSessionId,
    permissionTimeoutS: ctx.config.permissionTimeoutS,
    ...(agent.worktree ? { worktree: agent.worktree } : {}),
    resume: opts.resume,
    claudePath: ctx.config.claudePath,
    runtimeDir: ctx.config.runtimeDir,
    baseEnv: ctx.env,
    agentMcp: { secret, socket: agentSocketPath(ctx.config.runtimeDir) },
    sandbox: sandboxSetup(ctx.config, ctx.env),
  });
  await opts.seat?.ready();
  const tab = await ctx.backend.createTab({
    group: session.id,
    groupTitle: session.name,
    cwd: launch.cwd,
    argv: launch.argv,
    env: launch.env,
    title: agent.name,
    tag: tabTag(agent.name, claudeSessionId),
  });
  ctx.log.info('agent tab created', { agent: agent.name, session: session.id, tab: tab.id, resume: opts.resume });
  // A resumed conversation's spool still holds its previous runs (SessionEnd included):
  // readiness is judged only on what this launch reports.
  const ready = await waitReady(ctx, agent.name, tab, watch, launch.launchId, launch.cwd, opts.progress);
  return {
    tab,
    launchId: launch.launchId,
    sandbox: launch.sandbox ?? { kind: 'none' },
    ...(apiKey ? { apiKey } : {}),
    ...(onboarding ? { onboarding } : {}),
    ...ready,
  };
}

/**
 * The person gave tabcrew ANTHROPIC_API_KEY, and its agents inherit it: unless told otherwise
 * (--no-accept-api-key), tabcrew records the key as approved in Claude Code's config, the way
 * Claude Code records a Yes, instead of typing into its dialog; and, with the key approved,
 * Claude Code's first-run setup as finished, the way Claude Code records its end (a HOME that
 * never ran Claude Code gets a config with just that). A key the person refused stays refused,
 * and its setup stays theirs. Both undefined when there is no key, or it is not approved.
 */
async function settleApiKey(ctx: LaunchServices, name: string): Promise<Pick<LaunchResult, 'apiKey' | 'onboarding'>> {
  if (!ctx.env.ANTHROPIC_API_KEY?.trim()) return {};
  if (!ctx.config.acceptApiKey) return (await apiKeyStatus(ctx.env)) === 'approved' ? { apiKey: 'already_approved' } : {};
  const file = claudeConfigFile(ctx.env);
  try {
    const r = await settleFirstRun(ctx.env, { completeOnboarding: { version: () => installedClaudeVersion(ctx.config.claudePath, ctx.env) } });
    if (r.approvedNow) ctx.log.info("ANTHROPIC_API_KEY approved in Claude Code's config", { agent: name, file });
    if (r.onboarding === 'completed_by_tabcrew')
      ctx.log.info("Claude Code's first-run setup recorded as completed", { agent: name, file, created: r.created === true });
    if (r.status === 'rejected') ctx.log.warn("ANTHROPIC_API_KEY was refused in Claude Code's config before: agents do not use it", { agent: name });
    const apiKey = r.approvedNow ? 'approved_by_tabcrew' : r.status === 'approved' ? 'already_approved' : undefined;
    return { ...(apiKey ? { apiKey } : {}), ...(r.onboarding ? { onboarding: r.onboarding } : {}) };
  } catch (e) {
    ctx.log.warn("could not approve ANTHROPIC_API_KEY in Claude Code's config", { agent: name, error: String(e) });
    return {};
  }
}

// Hooks are the primary signal; the terminal is looked at only when they are late (each
// look is a round trip: ~200 ms under osascript). A root Claude Code has never trusted, a
// key it has not approved or a setup never completed shows a dialog, and no hook, right
// away: look early there. Elsewhere a late hook means a slow start (a loaded machine) far
// more often than a dead one.
const FIRST_CHECK_DIALOG_MS = 2500;
const FIRST_CHECK_MS = 8000;
const SCREEN_CHECK_EVERY_MS = 2000;
// How often the hook spool is looked at while an agent starts (a stat, and a read when it grew):
// a recovery of sixteen agents waits for the last one to be noticed, on average half of this.
const HOOK_POLL_MS = 100;

/**
 * Ready means Claude Code's SessionStart hook has fired and its screen is not a dialog.
 * A never-trusted root shows the folder-trust dialog first; the caller asked for an agent
 * in that root, so tabcrew answers it with "Yes, I trust this folder" and records that it
 * did. Any other first-run dialog (claude/screen.ts FIRST_RUN_DIALOGS) is not answered: seen
 * on two looks in a row, it ends the start as a failure that names it and its fix.
 */
async function waitReady(
  ctx: LaunchServices,
  name: string,
  tab: TabHandle,
  watch: AgentWatch,
  launchId: string,
  root: string,
  progress?: Progress,
): Promise<Omit<LaunchResult, 'tab' | 'launchId' | 'sandbox'>> {
  const started = Date.now();
  const deadline = started + ctx.config.startTimeoutS * 1000;
  let trust: AgentRecord['trust'] = 'already_trusted';
  const config = await readClaudeConfig(ctx.env);
  const dialogLikely = !trustedIn(config, root) || apiKeyStatusIn(config, ctx.env) === 'new' || config?.hasCompletedOnboarding !== true;
  let lastScreenCheck = started + (dialogLikely ? FIRST_CHECK_DIALOG_MS : FIRST_CHECK_MS) - SCREEN_CHECK_EVERY_MS;
  let lastKind = 'unknown';
  // The unanswered dialog the previous look saw: one frame of a screen being drawn is not a dialog.
  let pending: FirstRunDialog | undefined;
  while (Date.now() < deadline) {
    await watch.refresh();
    const hooks = watch.hookStatus(launchId);
    const seconds = Math.round((Date.now() - started) / 1000);
    progress?.({ progress: seconds, total: ctx.config.startTimeoutS, message: `${name}: waiting for Claude Code to start (${seconds} s)` });
    if (hooks?.status === 'exited') return { ready: false, failed: true, trust, note: `Claude Code exited during start-up. ${await tail(ctx, tab)}` };
    const due = Date.now() - lastScreenCheck >= SCREEN_CHECK_EVERY_MS;
    if (due) {
      // Hooks are late: make sure Claude Code is still running before looking at it.
      const live = (await ctx.backend.listTabs()).find((t) => t.id === tab.id);
      if (!live)
        return {
          ready: false,
          failed: true,
          trust,
          note: "The agent's tab closed during start-up: Claude Code could not start. Check --claude-path and the log.",
        };
      if (!live.alive) return { ready: false, failed: true, trust, note: await endedNote(ctx, tab, root) };
    }
    if (hooks?.status === 'idle' || hooks?.status === 'busy' || due) {
      lastScreenCheck = Date.now();
      let screen: string;
      try {
        screen = await ctx.backend.readScreen(tab, 60);
      } catch {
        return {
          ready: false,
          failed: true,
          trust,
          note: "The agent's tab closed during start-up: Claude Code could not start. Check --claude-path and the log.",
        };
      }
      const kind = classifyScreen(screen);
      lastKind = kind;
      // Enter only with the cursor on "Yes" (2.1.332 puts "No, exit" first).
      const keys = kind === 'trust_dialog' ? trustDialogKeys(screen) : undefined;
      if (isFirstRunDialog(kind) && !keys) {
        if (pending === kind) {
          ctx.log.warn('agent stopped at a first-run dialog', { agent: name, dialog: kind });
          return { ready: false, failed: true, trust, note: firstRunDialogProblem(kind, firstRunContext(ctx, root)) };
        }
        pending = kind;
        lastScreenCheck = Date.now() - SCREEN_CHECK_EVERY_MS + 500;
      } else if (keys) {
        pending = undefined;
        // An arrow move is followed by another look at the next turn of the loop, not after SCREEN_CHECK_EVERY_MS.
        await ctx.backend.sendKeys(tab, keys);
        if (keys?.[0] === 'Enter') {
          trust = 'accepted_by_tabcrew';
          ctx.log.info('folder trust dialog accepted', { agent: name });
        } else {
          lastScreenCheck = Date.now() - SCREEN_CHECK_EVERY_MS;
        }
      } else if (hooks && hooks.status !== 'starting') {
        return { ready: true, trust };
      } else {
        pending = undefined;
      }
    }
    // Ends early when a hook writes (the OS tells, spool-changes.ts): a ready agent is noticed at once, not at the next poll.
    await watch.nextChange(HOOK_POLL_MS);
  }
  const what = lastKind === 'unknown' ? 'no hook event yet' : `its screen shows ${screenStateWords(lastKind)}`;
  return {
    ready: false,
    trust,
    note:
      `${name} was not ready after ${ctx.config.startTimeoutS} s (${what}) and is still starting: ` +
      `get_session_status shows it idle once Claude Code is up, get_agent_output shows its screen meanwhile.`,
  };
}

function firstRunContext(ctx: LaunchServices, root: string) {
  return { root, configFile: claudeConfigFile(ctx.env), acceptApiKey: ctx.config.acceptApiKey, hasApiKey: !!ctx.env.ANTHROPIC_API_KEY?.trim() };
}

/** Why Claude Code ended before it was ready: its first-run setup gives up offline (2.1.197 exits 1), otherwise its last words. */
async function endedNote(ctx: LaunchServices, tab: TabHandle, root: string): Promise<string> {
  const kind = classifyScreen(await ctx.backend.readScreen(tab, 60).catch(() => ''));
  if (isFirstRunDialog(kind)) return firstRunDialogProblem(kind, firstRunContext(ctx, root));
  return `Claude Code ended during start-up. ${await tail(ctx, tab)}`;
}

async function tail(ctx: LaunchServices, tab: TabHandle): Promise<string> {
  try {
    // The whole screen: a terminal may print its own notice far below the program's last words.
    const lines = (await ctx.backend.readScreen(tab, 200)).split('\n').filter((l) => l.trim());
    return lines.length ? `Last screen lines: ${lines.slice(-5).join(' | ')}` : '';
  } catch {
    return '';
  }
}

const EXIT_WAIT_MS = 8000;

/**
 * Brings Claude Code to an empty input box so `/exit` lands there: Esc interrupts a turn
 * or cancels a permission dialog (an interrupted turn puts its prompt back in the box),
 * and with text in the box Esc twice clears it. Esc twice on an EMPTY box would open the
 * rewind menu instead, hence the screen reads between steps.
 */
async function readyForCommand(ctx: LaunchServices, tab: TabHandle): Promise<boolean> {
  for (let step = 0; step < 3; step++) {
    const screen = await ctx.backend.readScreen(tab, 60);
    const kind = classifyScreen(screen);
    if (kind === 'idle') {
      const box = findInputBox(screen);
      if (!box?.text || box.queued) return true;
      await ctx.backend.sendKeys(tab, ['Escape', 'Escape']);
    } else if (kind === 'busy' || kind === 'permission_prompt' || kind === 'rewind_menu') {
      await ctx.backend.sendKeys(tab, ['Escape']);
    } else {
      return false;
    }
    await sleep(400);
  }
  return false;
}

/**
 * Asks Claude Code to exit (so it ends its session cleanly and flushes the transcript),
 * then closes the tab whether or not it did.
 */
export async function stopAgentProcess(ctx: LaunchServices, agent: AgentRecord, session: SessionRecord): Promise<void> {
  // Found by tag, not by the stored handle: a crash during create_agent can leave a tab
  // whose handle never reached the state.
  if (!agent.claudeSessionId) return;
  const watch = ctx.observer.watch(agent, session);
  try {
    const live = findTab(agent, await ctx.backend.listTabs());
    if (live?.alive) {
      await watch?.refresh();
      const mark = watch?.spool.mark ?? 0;
      if (await readyForCommand(ctx, live)) {
        await ctx.backend.paste(live, '/exit');
        await sleep(200);
        await ctx.backend.sendKeys(live, ['Enter']);
        const deadline = Date.now() + EXIT_WAIT_MS;
        while (Date.now() < deadline) {
          await sleep(250);
          await watch?.refresh();
          if (watch?.since(mark).some((r) => r.event === 'SessionEnd')) break;
        }
      }
    }
    // Only a tab re-found by its tag is closed: after a terminal restart a stored window
    // id may name someone else's window.
    if (live) await ctx.backend.closeTab(live);
  } catch (e) {
    ctx.log.warn('stopping agent: tab already gone or unreachable', { agent: agent.name, error: String(e) });
  }
}

/**
 * Launches the agent, owned by this supervisor (a heartbeat in its record keeps other
 * tabcrews' recovery off it) until its tab is recorded. If the agent or its session was
 * deleted meanwhile (by another call or another tabcrew), the new tab is closed again.
 */
export async function launchOwned(
  ctx: LaunchServices & Pick<Services, 'owner' | 'starts'>,
  agent: AgentRecord,
  session: SessionRecord,
  peers: string[],
  /** staggered: false — recovery after a restart: a resumed conversation sends nothing to the API until it gets a message, so the crew comes back at once. */
  /**
   * otherRoots: the other sessions' roots (otherRootsOf), when the caller has just read them;
   * secret: this launch's agent secret, when the caller has recorded its hash already;
   * seat: its place among launches that ask for their tabs together (tab-gate.ts).
   */
  opts: { resume: boolean; progress?: Progress; policy: PolicyOptions; staggered?: boolean; otherRoots?: string[]; secret?: string; seat?: TabSeat },
): Promise<{ status: AgentStatus; note?: string; trust?: AgentRecord['trust']; apiKey?: AgentRecord['apiKey']; onboarding?: AgentRecord['onboarding'] }> {
  const { resume, progress } = opts;
  const otherRoots = opts.otherRoots ?? otherRootsOf(await ctx.store.read(), session.id);
  const beat = heartbeat(ctx.store, ctx.owner, (state) => state.agents.filter((a) => a.name === agent.name));
  let launched;
  try {
    const start = () =>
      launchAgent(ctx, agent, session, peers, { resume, progress, deny: denyRulesFor(otherRoots, opts.policy), secret: opts.secret, seat: opts.seat });
    // Crew-wide --max-starting: the owner heartbeat goes on while the start waits its turn.
    const queue = opts.staggered === false ? undefined : ctx.starts;
    launched = await (queue ? queue.run(agent.name, start, progress) : start());
  } catch (e) {
    opts.seat?.leave();
    await ctx.store
      .update((state) => {
        const a = agentOf(state, agent.name);
        if (!a) return;
        setStatus(a, { status: 'exited', source: 'terminal' });
        delete a.owner;
      })
      .catch(() => undefined);
    throw e;
  } finally {
    clearInterval(beat);
  }
  if (launched.failed) {
    await ctx.backend.closeTab(launched.tab).catch(() => undefined);
    throw new UserError(`${agent.name} could not start: ${launched.note}`);
  }
  const status: AgentStatus = launched.ready ? 'idle' : 'starting';
  // With the other launches of its group that are ready by then (tab-gate.ts), and batched with
  // any other launch that finishes meanwhile: a recovery resumes many at once.
  await opts.seat?.record();
  const kept = await ctx.store.updateBatched((state) => {
    const a = agentOf(state, agent.name);
    const s = state.sessions.find((x) => x.id === session.id);
    if (!a || a.claudeSessionId !== agent.claudeSessionId || !s || s.deleting) return false;
    a.tab = launched.tab;
    a.launchId = launched.launchId;
    a.trust = launched.trust;
    a.sandbox = launched.sandbox;
    a.apiKey = launched.apiKey;
    a.onboarding = launched.onboarding;
    delete a.owner;
    // Launched again by a person (the keeper never launches one it gave up on): relaunches count afresh.
    if (a.relaunch?.gaveUp) delete a.relaunch;
    setStatus(a, { status, source: launched.ready ? 'hook' : 'supervisor' });
    return true;
  });
  if (!kept) {
    await stopAgentProcess(ctx, agent, session);
    throw new UserError(`${agent.name} (or its session) was deleted while it started; its tab was closed again.`);
  }
  ctx.log.info('agent launched', { agent: agent.name, ready: launched.ready, trust: launched.trust });
  return { status, note: launched.note, trust: launched.trust, apiKey: launched.apiKey, onboarding: launched.onboarding };
}

/** Ends the agent's process and closes its tab; returns the transcript path, if any. */
export async function stopAndForget(ctx: LaunchServices, agent: AgentRecord, session: SessionRecord): Promise<string | undefined> {
  const watch = ctx.observer.watch(agent, session);
  await stopAgentProcess(ctx, agent, session);
  if (!watch) return undefined;
  await watch.refresh().catch(() => undefined);
  ctx.observer.forget(watch.claudeSessionId);
  return watch.transcriptPath();
}

/** Refuses before anything is created when the agents' launcher would not find Claude Code. */
export function checkClaude(ctx: Pick<Services, 'config' | 'env'>): void {
  const { claudePath } = ctx.config;
  if (!findOnPath(claudePath, ctx.env.PATH)) {
    throw new UserError(
      `Claude Code was not found ("${claudePath}" ${claudePath.includes('/') ? 'is not an executable file' : 'is not on PATH'}). ` +
        'Install it (npm install -g @anthropic-ai/claude-code) or start tabcrew with --claude-path /path/to/claude.',
    );
  }
}
