import type { Alert } from './alert.js';
import type { AlertLevel } from './levels.js';

/** `--notify-format`: the body a --notify-url gets. */
export const NOTIFY_FORMATS = ['json', 'ntfy', 'slack'] as const;
export type NotifyFormat = (typeof NOTIFY_FORMATS)[number];

export interface WebhookRequest {
  url: string;
  body: string;
  headers: Record<string, string>;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

/** The POST for one alert in one format, to the URL the person gave. */
export function webhookRequest(alert: Alert, format: NotifyFormat, url: string): WebhookRequest {
  if (format === 'ntfy') return ntfy(alert, url);
  if (format === 'slack') return { url, headers: JSON_HEADERS, body: JSON.stringify(slack(alert)) };
  return { url, headers: JSON_HEADERS, body: JSON.stringify(alert) };
}

export function title(a: Alert): string {
  return `${a.agent} needs you: ${a.event.replace(/_/g, ' ')}`;
}

const NTFY_PRIORITY: Record<AlertLevel, number> = { urgent: 4, warning: 3, info: 2 };
const NTFY_TAGS: Record<AlertLevel, string> = { urgent: 'rotating_light', warning: 'warning', info: 'information_source' };

/**
 * ntfy's JSON publishing: POST to the server's root with the topic in the body
 * (https://docs.ntfy.sh/publish/#publish-as-json). The person gives the topic's URL
 * (https://ntfy.sh/TOPIC, a query such as ?auth=… kept); its last path segment is the topic.
 */
function ntfy(a: Alert, url: string): WebhookRequest {
  const u = new URL(url);
  const parts = u.pathname.split('/');
  const topic = decodeURIComponent(parts.pop() || parts.pop() || '');
  u.pathname = `${parts.join('/')}/`;
  const body = {
    topic,
    title: title(a),
    message: `${a.summary}\n${a.action}`,
    priority: NTFY_PRIORITY[a.level],
    tags: [NTFY_TAGS[a.level], 'tabcrew'],
    ...(a.link ? { click: a.link } : {}),
  };
  return { url: u.toString(), headers: JSON_HEADERS, body: JSON.stringify(body) };
}

/** Slack's mrkdwn treats &, < and > as markup: agent text is escaped so it stays text (no links, no mentions). */
function mrkdwn(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A Slack incoming webhook's message: `text` for notifications, `blocks` for the channel. */
function slack(a: Alert): { text: string; blocks: unknown[] } {
  const head = `*${mrkdwn(title(a))}*`;
  const link = a.link ? ` <${a.link}|Open in the dashboard>` : '';
  return {
    text: `${mrkdwn(title(a))}: ${mrkdwn(a.summary)}`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `${head}\n${mrkdwn(a.summary)}\n_${mrkdwn(a.action)}_${link}` } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: mrkdwn(`${a.level} · ${a.node} · session ${a.session} · ${a.time}`) }] },
    ],
  };
}
