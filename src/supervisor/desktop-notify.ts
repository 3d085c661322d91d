import { execFile } from 'node:child_process';
import { findOnPath } from '../util/find-on-path.js';
import type { Notice } from './keeper.js';

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
