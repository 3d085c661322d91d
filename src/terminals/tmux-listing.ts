import type { TabInfo } from './backend.js';
import { unvis } from './tmux-text.js';

/** The window option holding a tab's tag (tabcrew's id for it). */
export const TAG_OPTION = '@tabcrew_tag';
/** The group a tmux session holds (a session option): its name is for people and may change with tabcrew versions. */
export const GROUP_OPTION = '@tabcrew_group';
const FS = '\x1f';
const RS = '\x1e';
const FIELDS = [
  '#{pid}',
  '#{window_id}',
  '#{pane_id}',
  '#{pane_pid}',
  '#{session_name}',
  '#{pane_dead}',
  '#{pane_dead_status}',
  '#{pane_dead_signal}',
  '#{window_name}',
  `#{${GROUP_OPTION}}`,
  `#{${TAG_OPTION}}`,
];

/**
 * The list-panes format of a tab listing. tmux prints user option values raw (control
 * characters included) while it escapes window and session names, so the tag goes last and
 * each record ends with a marker no value can guess.
 */
export function listingFormat(nonce: string): string {
  return FIELDS.join(FS) + RS + nonce;
}

/** The tabs of a listing, the tmux sessions they are in, and the tmux server's pid when a dead pane's status is not reaped yet (else 0). */
export function parseListing(stdout: string, nonce: string): { tabs: TabInfo[]; sessions: Set<string>; unreaped: number } {
  const tabs: TabInfo[] = [];
  const sessions = new Set<string>();
  const seen = new Set<string>();
  let unreaped = 0;
  for (const record of stdout.split(`${RS}${nonce}\n`)) {
    const parts = record.split(FS);
    if (parts.length < FIELDS.length) continue;
    const [server, id, pane, pid, session, dead, status, signal, name, group] = parts;
    const tag = parts.slice(FIELDS.length - 1).join(FS);
    sessions.add(unvis(session));
    // A window linked into several sessions is listed once per session.
    if (seen.has(pane)) continue;
    seen.add(pane);
    const info: TabInfo = {
      backend: 'tmux',
      id,
      pane,
      pid: Number(pid),
      tag: tag === '' ? null : tag,
      // A tmux session made before tabcrew named them for people is named by its group.
      group: group || unvis(session),
      title: unvis(name),
      alive: dead !== '1',
    };
    // A signal is reported as a shell would: 128 + N.
    if (dead === '1' && /^\d+$/.test(status)) info.exitStatus = Number(status);
    else if (dead === '1' && /^\d+$/.test(signal)) info.exitStatus = 128 + Number(signal);
    else if (dead === '1') unreaped = Number(server);
    tabs.push(info);
  }
  return { tabs, sessions, unreaped };
}
