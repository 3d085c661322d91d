import { execFile } from 'node:child_process';
import type { Logger } from '../audit/logger.js';
import type { Config } from '../config.js';
import { findOnPath } from '../util/find-on-path.js';
import type { AgentObserver } from './observer.js';

/**
 * Who is told when an agent needs a person: the listeners (the MCP client's log messages,
 * the dashboard) and, with --notify, the desktop. Budgets, the relaunch policy and the
 * keeper's health round tell through here; a permission dialog is told as the observer sees it.
 */

/** Why a person is told about an agent, with what to do about it. */
export const NOTICE_REASONS = [
  'permission',
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
}

export interface NoticesDeps {
  config: Pick<Config, 'notify'>;
  env: NodeJS.ProcessEnv;
  log: Logger;
  observer: Pick<AgentObserver, 'onChange'>;
}

export class Notices {
  private readonly listeners = new Set<(n: Notice) => void>();

  constructor(private readonly deps: NoticesDeps) {
    if (deps.config.notify) {
      const desktop = desktopNotifier(deps.env);
      if (desktop) this.listeners.add(desktop);
      else deps.log.warn('--notify: no notify-send (Linux) or osascript (macOS) on PATH; notices go to the MCP client only');
    }
    // A permission dialog waits for a person (the status is the observer's; the notice is ours).
    deps.observer.onChange((c) => {
      if (c.to !== 'waiting_permission') return;
      this.tell({
        agent: c.agent,
        session_id: c.session_id,
        reason: 'permission',
        message: `${c.agent} is waiting for a permission answer.`,
        action: `Answer the dialog in ${c.agent}'s tab (get_agent_output shows it).`,
      });
    });
  }

  onNotice(listener: (n: Notice) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Tells the client (and the desktop, with --notify) that an agent needs a person. */
  tell(n: Notice): void {
    this.deps.log.info('attention', { ...n });
    for (const l of this.listeners) l(n);
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

export function desktopNotifier(env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): ((n: Notice) => void) | undefined {
  const path = env.PATH ?? '';
  const send = (cmd: string, args: string[]): void => {
    execFile(cmd, args, { timeout: 10_000, env }, () => undefined).on('error', () => undefined);
  };
  const text = (n: Notice): [string, string] => [`tabcrew: ${n.agent} needs you (${n.reason.replace('_', ' ')})`, `${n.message} ${n.action}`.slice(0, 1000)];
  if (platform === 'darwin') {
    const osascript = findOnPath('osascript', path);
    return osascript ? (n) => send(osascript, [...MAC_SCRIPT, ...text(n)]) : undefined;
  }
  const notifySend = findOnPath('notify-send', path);
  return notifySend ? (n) => send(notifySend, ['--app-name=tabcrew', '--', ...text(n)]) : undefined;
}
