import { redact } from '../audit/redact.js';
import { levelOf, type AlertLevel } from './levels.js';

/** What a teller says (supervisor/notices.ts Notice): any reason, with what to do about it. */
export interface AlertInput {
  agent: string;
  session_id: string;
  reason: string;
  message: string;
  action: string;
  /** Names the occurrence (a request id, when a hold began): the same one told again is no new alert. */
  episode?: string;
}

/** The alert every push sink sends (docs/alerts.md lists the fields). */
export interface Alert {
  event: string;
  level: AlertLevel;
  agent: string;
  node: string;
  session: string;
  summary: string;
  action: string;
  /** The agent in the dashboard, when tabcrew knows where the dashboard is; else null. */
  link: string | null;
  time: string;
}

export interface AlertContext {
  /** This machine's name (a front's nodes each send their own alerts). */
  node: string;
  /** The dashboard's address as a person reaches it (--notify-dashboard-url, else serve --http's). */
  dashboardUrl?: () => string | undefined;
}

/** The alert of a notice, its texts redacted: it leaves this machine. */
export function toAlert(n: AlertInput, ctx: AlertContext, now: Date = new Date()): Alert {
  const base = ctx.dashboardUrl?.()?.replace(/\/+$/, '');
  return {
    event: n.reason,
    level: levelOf(n.reason),
    agent: n.agent,
    node: ctx.node,
    session: n.session_id,
    summary: redact(n.message),
    action: redact(n.action),
    link: base ? `${base}/#agent=${encodeURIComponent(n.agent)}` : null,
    time: now.toISOString(),
  };
}

/** Anything that pushes alerts somewhere: it must return at once (queue inside) and never throw. */
export interface AlertSink {
  send(alert: Alert): void;
}
