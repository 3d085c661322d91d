/**
 * How loud each reason a person is told about is: the one table. Tellers add reasons of
 * their own (supervisor/notices.ts NOTICE_REASONS); a reason missing here is a `warning`.
 */
export const ALERT_LEVELS = ['info', 'warning', 'urgent'] as const;
export type AlertLevel = (typeof ALERT_LEVELS)[number];

/** `urgent`: an agent stands still until a person acts. `warning`: something needs a look. `info`: news. */
export const REASON_LEVELS: Readonly<Record<string, AlertLevel>> = {
  permission: 'urgent',
  question: 'urgent',
  plan_approval: 'urgent',
  crashed: 'urgent',
  budget: 'warning',
  timeout: 'warning',
  usage_limit: 'warning',
  stuck: 'warning',
  waiting_long: 'warning',
  relaunched: 'info',
  coordination_finished: 'info',
};

export function levelOf(reason: string): AlertLevel {
  return Object.hasOwn(REASON_LEVELS, reason) ? REASON_LEVELS[reason] : 'warning';
}

export function atLeast(level: AlertLevel, min: AlertLevel): boolean {
  return ALERT_LEVELS.indexOf(level) >= ALERT_LEVELS.indexOf(min);
}
