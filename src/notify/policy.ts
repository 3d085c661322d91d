import { atLeast, type AlertLevel } from './levels.js';

/** `--notify-quiet HH:MM-HH:MM`, in minutes after local midnight; `to` before `from` runs past midnight. */
export interface QuietHours {
  from: number;
  to: number;
}

/** Which alerts the push sinks (--notify-url, --notify) send: at least `min`, and only `urgent` ones in quiet hours. */
export interface AlertPolicy {
  min: AlertLevel;
  quiet?: QuietHours;
}

const HHMM = /^([01]?\d|2[0-3]):([0-5]\d)$/;

/** "22:00-07:30" → {from: 1320, to: 450}; undefined when it is not that shape. */
export function parseQuietHours(text: string): QuietHours | undefined {
  const [a, b, ...rest] = text.trim().split('-');
  if (rest.length || a === undefined || b === undefined) return undefined;
  const m = HHMM.exec(a.trim());
  const n = HHMM.exec(b.trim());
  if (!m || !n) return undefined;
  const from = Number(m[1]) * 60 + Number(m[2]);
  const to = Number(n[1]) * 60 + Number(n[2]);
  return from === to ? undefined : { from, to };
}

export function inQuietHours(q: QuietHours, now: Date): boolean {
  const t = now.getHours() * 60 + now.getMinutes();
  return q.from < q.to ? t >= q.from && t < q.to : t >= q.from || t < q.to;
}

/** Why an alert of `level` is not pushed now, or undefined when it is. */
export function heldBack(policy: AlertPolicy, level: AlertLevel, now: Date): 'below --notify-min' | 'quiet hours' | undefined {
  if (!atLeast(level, policy.min)) return 'below --notify-min';
  if (policy.quiet && level !== 'urgent' && inQuietHours(policy.quiet, now)) return 'quiet hours';
  return undefined;
}
