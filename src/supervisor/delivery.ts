import { promptFingerprint, type HookRecord } from '../claude/hook-record.js';
import { messageHeader } from '../claude/prompt.js';
import { classifyScreen, findInputBox } from '../claude/screen.js';
import type { AgentWatch } from '../claude/watch.js';
import { isWaitingOnPerson, type AgentRecord, type AgentStatus, type SessionRecord } from '../store/types.js';
import type { TabHandle } from '../terminals/backend.js';
import { sanitizeForTerminal } from '../terminals/sanitize.js';
import type { DeliveryTiming, Progress, Services } from './context.js';
import type { LiveStatus } from './observer.js';

/** What a delivery uses: the tab to type into, the log, the observer for the agent's status, and who hears of its timing. */
type DeliveryServices = Pick<Services, 'backend' | 'log' | 'observer' | 'deliveries'>;
import { UserError } from './errors.js';
import { newDeliveryId } from './ids.js';
import { sleep } from './timing.js';
import { endsTurnOf, readReply, waitForRecord } from './turns.js';

export const MAX_MESSAGE_BYTES = 100 * 1024;

export interface DeliveryRequest {
  agent: string;
  sessionName: string;
  watch: AgentWatch;
  message: string;
  prependProtocol: boolean;
  waitForReply: boolean;
  timeoutS: number;
  idleWaitS: number;
  progress?: Progress;
  /** Who the header names as sender (default: the supervisor) and which stored message this is; set by supervisor/messages.ts. */
  header?: { from: string; kind?: string; messageId?: string };
  /** A delivery id chosen by the caller (recorded before typing, so a crash can be checked against the hooks). */
  deliveryId?: string;
  /**
   * false: a confirmed delivery without wait_for_reply answers `busy` (the turn its prompt started)
   * without looking at the agent: a fan-out's 64 looks, each a tab listing, a save of the status
   * and its audit record, came while the agents' hooks ran, and the run discards the status. The
   * next look at the agent tells the statuses it went through (observer.ts stepsSinceLastLook).
   */
  statusAfter?: false;
  /**
   * The agent's and its session's records as the caller read them a moment ago (under the
   * agent's lock): the first look at the agent uses them instead of reading the whole state again.
   */
  records?: { agent: AgentRecord; session: SessionRecord };
}

/** confirmed: Claude Code's UserPromptSubmit hook reported the prompt; unknown: it did not within the bound. */
export const DELIVERY_OUTCOMES = ['confirmed', 'unknown'] as const;

export interface DeliveryResult {
  agent: string;
  delivery_id: string;
  delivered: (typeof DELIVERY_OUTCOMES)[number];
  status: AgentStatus;
  reply?: string;
  note?: string;
}

export function checkMessage(message: string): void {
  const bytes = Buffer.byteLength(message, 'utf8');
  if (bytes > MAX_MESSAGE_BYTES) {
    throw new UserError(
      `message is ${bytes} bytes; the limit is ${MAX_MESSAGE_BYTES} (100 KB). Put long material in a file under the session root and send its path.`,
    );
  }
  if (!message.trim()) throw new UserError('message is empty: give the text to send to the agent.');
}

/** How long the pasted text may take to show in the input box before Enter is pressed anyway. */
function visibleWithinMs(text: string): number {
  return Math.min(3000, 1000 + Math.floor(text.length / 20));
}
/**
 * The screen is looked at soon after the paste (the TUI shows it within milliseconds when
 * the machine is idle), then less and less often: each look is a terminal process, and a
 * loaded machine, where the paste shows late, is the one that can least afford many.
 */
const SCREEN_POLL_FIRST_MS = 10;
const SCREEN_POLL_MAX_MS = 160;

/**
 * After Enter, how long to wait for UserPromptSubmit before looking whether the text still
 * sits unsent in the box, and the bound on the whole confirmation.
 */
const SECOND_ENTER_AFTER_MS = 1500;
const CONFIRM_MS = 10_000;

/**
 * The delivery transaction: wait (bounded) for idle, type the text, pause, press Enter,
 * and confirm by the UserPromptSubmit hook. An unconfirmed delivery is reported as
 * "unknown" and never retyped — retyping could make the agent do the work twice.
 */
export async function deliver(ctx: DeliveryServices, req: DeliveryRequest): Promise<DeliveryResult> {
  const deliveryId = req.deliveryId ?? newDeliveryId();
  const body = sanitizeForTerminal(req.message);
  const text = req.prependProtocol
    ? `${messageHeader({ from: 'supervisor', ...req.header, to: req.agent, session: req.sessionName, deliveryId })}\n${body}`
    : neutraliseCommandPrefix(body);

  // The spool is brought up to date while the screen is looked at, not after: a fan-out's
  // deliveries, woken together by one shared screen read, then reach their pastes together
  // (one typing round) instead of one by one as each file read comes back. Only when the
  // agent was waited for is it brought up to date again (what it did meanwhile is not ours).
  const early = req.watch.refresh().then(
    () => true,
    () => false,
  );
  const { tab, waited } = await waitForInputBox(ctx, req);
  if (!(await early) || waited) await req.watch.refresh();
  const mark = req.watch.spool.mark;
  const typed = Date.now();
  const told = (outcome: DeliveryTiming['outcome']): void => ctx.deliveries?.forEach((l) => l({ agent: req.agent, outcome, ms: Date.now() - typed }));
  await ctx.backend.paste(tab, text);
  // Enter only once the TUI shows the text: an Enter that arrives while Claude Code is still
  // taking in the paste is absorbed.
  await waitForScreen(ctx, tab, (screen) => holdsText(screen, text), visibleWithinMs(text));
  await ctx.backend.sendKeys(tab, ['Enter']);
  // One log line per delivery, at its outcome (each line costs the server ~0.5 ms, 64 at once in a fan-out).
  const logged = { agent: req.agent, delivery: deliveryId, bytes: Buffer.byteLength(text) };

  const fingerprint = promptFingerprint(text);
  const matches = (r: HookRecord): boolean => r.event === 'UserPromptSubmit' && (r.delivery_id === deliveryId || r.prompt_fp === fingerprint);
  let submitted = await waitForRecord(req.watch, mark, matches, SECOND_ENTER_AFTER_MS);
  if (!submitted) {
    // An Enter that raced the paste is absorbed and the text waits in the box. A second
    // Enter submits it — but only while the screen shows exactly that: the idle box holding
    // this text. Anything else (a dialog opened meanwhile, where Enter would approve it; a
    // turn already running) gets no key at all.
    let screen = '';
    try {
      screen = await ctx.backend.readScreen(tab, 60);
    } catch {
      // the tab is gone: nothing to press
    }
    await req.watch.refresh();
    submitted = req.watch.since(mark).find(matches);
    if (!submitted && classifyScreen(screen) === 'idle' && holdsText(screen, text)) await ctx.backend.sendKeys(tab, ['Enter']);
    submitted ??= await waitForRecord(req.watch, mark, matches, CONFIRM_MS - SECOND_ENTER_AFTER_MS);
  }
  if (!submitted) {
    told('unknown');
    ctx.log.warn('delivery unconfirmed', { ...logged, ms: Date.now() - typed });
    return {
      agent: req.agent,
      delivery_id: deliveryId,
      delivered: 'unknown',
      status: (await ctx.observer.observeOne(req.agent)).status,
      note: 'Claude Code did not report the prompt within 10 s. Check get_agent_output before sending again: the text may be waiting in the input box.',
    };
  }
  told('confirmed');
  ctx.log.info('delivery confirmed', { ...logged, ms: Date.now() - typed });
  if (!req.waitForReply) {
    const status = req.statusAfter === false ? 'busy' : (await observeAgent(ctx, req)).status;
    return { agent: req.agent, delivery_id: deliveryId, delivered: 'confirmed', status };
  }

  const after = req.watch.spool.records.indexOf(submitted) + 1;
  const started = Date.now();
  const ended = await waitForRecord(req.watch, after, endsTurnOf(submitted), req.timeoutS * 1000, () => {
    const s = Math.round((Date.now() - started) / 1000);
    req.progress?.({ progress: s, total: req.timeoutS, message: `${req.agent} is working (${s} s)` });
  });
  if (!ended) {
    return {
      agent: req.agent,
      delivery_id: deliveryId,
      delivered: 'confirmed',
      status: (await ctx.observer.observeOne(req.agent)).status,
      note: `No reply within ${req.timeoutS} s; the agent is still working. Read it later with get_agent_output.`,
    };
  }
  const { reply, why } = await readReply(req.watch, fingerprint, ended);
  if (reply === undefined) ctx.log.warn('reply not read', { agent: req.agent, delivery: deliveryId, why });
  return {
    agent: req.agent,
    delivery_id: deliveryId,
    delivered: 'confirmed',
    status: (await ctx.observer.observeOne(req.agent)).status,
    ...(reply !== undefined
      ? { reply }
      : { note: `The turn ended, but its reply could not be read from the transcript (${why}). Read it with get_agent_output.` }),
  };
}

/**
 * The agent's live status. With the records its caller read under the agent's lock (`records`),
 * which every verb that changes an agent takes, there is no read of the whole state: a fan-out
 * looks at 64 agents within moments, twice each. The observation still writes a change it sees
 * only where the state's record is still the one read (observer.ts persist); a hold put on during
 * this delivery (a budget reached meanwhile) shows at the next look instead of in this answer.
 */
function observeAgent(ctx: DeliveryServices, req: Pick<DeliveryRequest, 'agent' | 'records'>): Promise<LiveStatus> {
  const fresh = req.records;
  return fresh ? ctx.observer.observe(fresh.session, [fresh.agent]).then((m) => m.get(req.agent)!) : ctx.observer.observeOne(req.agent);
}

/**
 * Claude Code runs a prompt that starts with `!` as a shell command and one that starts
 * with `/` as a slash command (`/exit` ends the agent), and neither fires
 * UserPromptSubmit. A message is a message: a leading space keeps it one (Claude Code
 * keeps leading spaces).
 */
export function neutraliseCommandPrefix(text: string): string {
  return /^[!/]/.test(text) ? ` ${text}` : text;
}

/**
 * Waits (bounded) until the agent is idle by its hooks AND its screen shows an empty
 * input box. The screen check matters: an Enter typed into a permission dialog approves
 * it, and text left in the box (an interrupted turn puts its prompt back) would be merged
 * with the message.
 */
async function waitForInputBox(ctx: DeliveryServices, req: DeliveryRequest): Promise<{ tab: TabHandle; waited: boolean }> {
  const deadline = Date.now() + req.idleWaitS * 1000;
  let clears = 0;
  let why: string;
  for (let records = req.records, waited = false; ; records = undefined, waited = true) {
    const { status, tab } = await observeAgent(ctx, { agent: req.agent, records });
    if (status === 'idle' && tab) {
      const screen = await ctx.backend.readScreen(tab, 60);
      const kind = classifyScreen(screen);
      const box = kind === 'idle' ? findInputBox(screen) : undefined;
      if (kind === 'idle' && (!box || !box.text || box.queued)) return { tab, waited };
      if (box?.text && clears < 2) {
        // With text in the box, Esc shows "Esc again to clear" and a second Esc clears it.
        // (On an EMPTY box Esc Esc opens the rewind menu, so this runs only with text.)
        clears++;
        await ctx.backend.sendKeys(tab, ['Escape', 'Escape']);
        await sleep(200);
        continue;
      }
      why = box?.text ? 'its input box holds text that could not be cleared' : `its screen shows ${kind.replace(/_/g, ' ')}`;
    } else if (status === 'busy' || isWaitingOnPerson(status) || status === 'starting') {
      why = `it stayed ${status.replace(/_/g, ' ')}`;
    } else {
      throw new UserError(`${req.agent} is ${status}; nothing was typed. ${remedy(status)}`);
    }
    if (Date.now() >= deadline) {
      throw new UserError(
        `${req.agent} was not ready for input within ${req.idleWaitS} s (${why}); nothing was typed. ` +
          'Look at it with get_agent_output, then try again or pass a larger idle_wait_s.',
      );
    }
    req.progress?.({ progress: 0, message: `${req.agent}: waiting to type (${why})` });
    await sleep(500);
  }
}

function remedy(status: AgentStatus): string {
  if (status === 'paused') return 'Its budget or time limit was reached: resume_agent lifts it.';
  if (status === 'cleared') return 'Start a conversation with start_new_agent_conversation first.';
  if (status === 'detached') return 'Its tab is gone; recover it or start a new conversation.';
  return 'Start a new conversation with start_new_agent_conversation.';
}

/**
 * Whether the input box shows `text` (its last visible characters, whitespace aside: the
 * TUI wraps and indents), or the placeholder Claude Code shows for a long paste.
 */
export function holdsText(screen: string, text: string): boolean {
  const box = findInputBox(screen)?.text;
  if (!box) return false;
  if (/\[Pasted text #\d+/.test(box)) return true;
  const squeeze = (t: string): string => t.replace(/\s+/gu, '');
  const tail = squeeze(text).slice(-24);
  return tail !== '' && squeeze(box).endsWith(tail);
}

/** Reads the screen until `pred` holds or `timeoutMs` passes; true when it held. */
async function waitForScreen(ctx: DeliveryServices, tab: TabHandle, pred: (screen: string) => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let pause = SCREEN_POLL_FIRST_MS; ; pause = Math.min(pause * 2, SCREEN_POLL_MAX_MS)) {
    try {
      if (pred(await ctx.backend.readScreen(tab, 60))) return true;
    } catch {
      return false;
    }
    const left = deadline - Date.now();
    if (left <= 0) return false;
    await sleep(Math.min(pause, left));
  }
}
