import { execFile } from 'node:child_process';
import { hostname } from 'node:os';
import type { Logger } from '../audit/logger.js';
import type { Config } from '../config.js';
import { toAlert, type Alert, type AlertContext, type AlertSink } from '../notify/alert.js';
import { Episodes } from '../notify/episodes.js';
import { levelOf, type AlertLevel } from '../notify/levels.js';
import { heldBack, type AlertPolicy } from '../notify/policy.js';
import { findOnPath } from '../util/find-on-path.js';
import type { AgentObserver } from './observer.js';

/**
 * Who is told when an agent needs a person: the listeners (the MCP client's log messages,
 * the dashboard's live feed and its browser notifications) and the push sinks it is given
 * (--notify-url, src/notify/) plus, with --notify, the desktop. Budgets, the relaunch policy
 * and the keeper's health round tell through here; a permission dialog is told as the
 * observer sees it. Each event is told once (notify/episodes.ts); the push sinks only get
 * what --notify-min and --notify-quiet let through (notify/policy.ts); how loud each reason
 * is, is notify/levels.ts's table.
 */

/** Why a person is told about an agent, with what to do about it. */
export const NOTICE_REASONS = [
  'permission',
  'question',
  'plan_approval',
  'budget',
  'timeout',
  'stuck',
  'waiting_long',
  'crashed',
  'relaunched',
  'coordination_finished',
  'usage_limit',
] as const;

export interface Notice {
  agent: string;
  session_id: string;
  reason: (typeof NOTICE_REASONS)[number];
  message: string;
  action: string;
  /** Names this occurrence (when a hold or a health episode began): told again, it is no new event. */
  episode?: string;
}

const WAITING: Partial<Record<string, { reason: Notice['reason']; what: string }>> = {
  waiting_permission: { reason: 'permission', what: 'a permission answer' },
  waiting_answer: { reason: 'question', what: 'an answer to its question' },
  waiting_plan_approval: { reason: 'plan_approval', what: 'its plan to be approved' },
};

/** What listeners hear: the notice and how loud it is. */
export type LevelledNotice = Notice & { level: AlertLevel };

export interface NoticesDeps {
  config: Pick<Config, 'notify' | 'notifyMin' | 'notifyQuiet'>;
  env: NodeJS.ProcessEnv;
  log: Logger;
  observer: Pick<AgentObserver, 'onChange'>;
  /** Where alerts are pushed (--notify-url: notify/webhook.ts), with what they say of this machine. */
  alerts?: { sinks: AlertSink[]; dashboardUrl?: AlertContext['dashboardUrl'] };
}

export class Notices {
  private readonly listeners = new Set<(n: LevelledNotice) => void>();
  private readonly sinks: AlertSink[];
  private readonly episodes = new Episodes();
  private readonly policy: AlertPolicy;
  private readonly context: AlertContext;

  constructor(private readonly deps: NoticesDeps) {
    this.sinks = [...(deps.alerts?.sinks ?? [])];
    this.policy = { min: deps.config.notifyMin ?? 'info', ...(deps.config.notifyQuiet ? { quiet: deps.config.notifyQuiet } : {}) };
    this.context = { node: hostname(), dashboardUrl: deps.alerts?.dashboardUrl };
    if (deps.config.notify) {
      const desktop = desktopNotifier(deps.env);
      if (desktop) this.sinks.push({ send: desktop });
      else deps.log.warn('--notify: no notify-send (Linux) or osascript (macOS) on PATH; notices go to the MCP client only');
    }
    // A permission dialog, a question or a plan waits for a person (the status is the observer's; the notice is ours).
    // One dialog is one episode: it ends when a hook (or the tab's end) says the agent moved
    // on; a status that flaps on what the screen shows stays the same dialog.
    const dialogs = new Map<string, number>();
    let opened = 0;
    deps.observer.onChange((c) => {
      // A dialog that opened and closed between two looks waits for nobody now.
      const waiting = c.passed ? undefined : WAITING[c.to];
      if (!waiting) {
        if (c.source !== 'screen') dialogs.delete(c.agent);
        return;
      }
      if (!dialogs.has(c.agent)) dialogs.set(c.agent, ++opened);
      this.tell({
        agent: c.agent,
        session_id: c.session_id,
        reason: waiting.reason,
        episode: `dialog ${dialogs.get(c.agent)}`,
        message: `${c.agent} is waiting for ${waiting.what}.`,
        action: `Answer it with answer_request (list_pending_requests shows it), or in ${c.agent}'s tab (get_agent_output shows it).`,
      });
    });
  }

  onNotice(listener: (n: LevelledNotice) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Tells the listeners, and the push sinks the policy lets through, that an agent needs a person: once per event. */
  tell(n: Notice, now = new Date()): void {
    if (!this.episodes.first(n, now.getTime())) {
      this.deps.log.debug('attention told already', { agent: n.agent, reason: n.reason, episode: n.episode });
      return;
    }
    const level = levelOf(n.reason);
    this.deps.log.info('attention', { ...n, level });
    for (const l of this.listeners) l({ ...n, level });
    if (!this.sinks.length) return;
    const held = heldBack(this.policy, level, now);
    if (held) {
      this.deps.log.info('alert held back', { agent: n.agent, reason: n.reason, level, why: held });
      return;
    }
    const alert = toAlert(n, this.context, now);
    for (const sink of this.sinks) {
      try {
        sink.send(alert);
      } catch (e) {
        this.deps.log.warn('alert sink failed', { error: (e as Error).message });
      }
    }
  }
}

/**
 * `--notify`: a desktop notification when an agent needs a person. macOS: AppleScript's
 * `display notification` through osascript, the text handed over as arguments of its run
 * handler (never spliced into the script); Linux: notify-send when it is installed.
 * Nothing here waits or fails loudly: a notification is a courtesy, the MCP log message is
 * the record.
 */
const MAC_SCRIPT = ['-e', 'on run argv', '-e', 'display notification (item 2 of argv) with title (item 1 of argv)', '-e', 'end run'];

export function desktopNotifier(env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): ((a: Alert) => void) | undefined {
  const path = env.PATH ?? '';
  const send = (cmd: string, args: string[]): void => {
    execFile(cmd, args, { timeout: 10_000, env }, () => undefined).on('error', () => undefined);
  };
  const text = (a: Alert): [string, string] => [`tabcrew: ${a.agent} needs you (${a.event.replace(/_/g, ' ')})`, `${a.summary} ${a.action}`.slice(0, 1000)];
  if (platform === 'darwin') {
    const osascript = findOnPath('osascript', path);
    return osascript ? (n) => send(osascript, [...MAC_SCRIPT, ...text(n)]) : undefined;
  }
  const notifySend = findOnPath('notify-send', path);
  return notifySend ? (n) => send(notifySend, ['--app-name=tabcrew', '--', ...text(n)]) : undefined;
}
