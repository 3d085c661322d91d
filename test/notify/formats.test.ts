import { describe, expect, it } from 'vitest';
import { toAlert, type Alert } from '../../src/notify/alert.js';
import { webhookRequest } from '../../src/notify/formats.js';
import { levelOf, REASON_LEVELS } from '../../src/notify/levels.js';

const SECRET = 'sk-ant-api03-' + 'A1b2C3d4E5f6G7h8'.repeat(3);
const notice = {
  agent: 'Agent_3',
  session_id: 'web',
  reason: 'permission',
  message: `Agent_3 is waiting for a permission answer to run curl -H "x-api-key: ${SECRET}" <https://example.com|x> & more.`,
  action: "Answer the dialog in Agent_3's tab.",
};
const alert: Alert = toAlert(notice, { node: 'box1', dashboardUrl: () => 'https://crew.example.com:7777/' }, new Date('2026-12-06T07:00:00Z'));

describe('an alert', () => {
  it('carries the documented fields, its texts redacted, and a link to the agent in the dashboard', () => {
    expect(Object.keys(alert).sort()).toEqual(['action', 'agent', 'event', 'level', 'link', 'node', 'session', 'summary', 'time']);
    expect(alert).toMatchObject({
      event: 'permission',
      level: 'urgent',
      agent: 'Agent_3',
      node: 'box1',
      session: 'web',
      link: 'https://crew.example.com:7777/#agent=Agent_3',
      time: '2026-12-06T07:00:00.000Z',
    });
    expect(JSON.stringify(alert)).not.toContain(SECRET);
    expect(alert.summary).toContain('[REDACTED:');
  });

  it('has no link when tabcrew does not know where its dashboard is', () => {
    expect(toAlert(notice, { node: 'n' }).link).toBeNull();
  });

  it('takes any reason: one a newer teller adds is a warning, and each known reason has its level in one table', () => {
    expect(levelOf('something_new')).toBe('warning');
    expect(levelOf('toString')).toBe('warning');
    expect(REASON_LEVELS).toMatchObject({ permission: 'urgent', question: 'urgent', plan_approval: 'urgent', crashed: 'urgent', usage_limit: 'warning' });
    expect(levelOf('coordination_finished')).toBe('info');
  });
});

describe('--notify-format presets', () => {
  it('json: the alert itself, POSTed to the URL given', () => {
    const r = webhookRequest(alert, 'json', 'https://hooks.example.com/in?token=abc');
    expect(r.url).toBe('https://hooks.example.com/in?token=abc');
    expect(r.headers['content-type']).toBe('application/json');
    expect(JSON.parse(r.body)).toEqual(alert);
  });

  it("ntfy: JSON publishing to the server's root with the topic, title, priority, tags and the click link", () => {
    const r = webhookRequest(alert, 'ntfy', 'https://ntfy.example.com/base/crew-alerts?auth=tk');
    expect(r.url).toBe('https://ntfy.example.com/base/?auth=tk');
    const body = JSON.parse(r.body);
    expect(body).toEqual({
      topic: 'crew-alerts',
      title: 'Agent_3 needs you: permission',
      message: `${alert.summary}\n${alert.action}`,
      priority: 4,
      tags: ['rotating_light', 'tabcrew'],
      click: alert.link,
    });
    expect(JSON.parse(webhookRequest({ ...alert, level: 'info', link: null }, 'ntfy', 'https://ntfy.sh/t').body)).toMatchObject({ priority: 2 });
    expect(JSON.parse(webhookRequest({ ...alert, link: null }, 'ntfy', 'https://ntfy.sh/t').body)).not.toHaveProperty('click');
  });

  it("slack: text and blocks, agent text escaped so it cannot make links or mentions, the dashboard link Slack's own", () => {
    const r = webhookRequest(alert, 'slack', 'https://hooks.slack.com/services/T0/B0/xyz');
    const body = JSON.parse(r.body);
    expect(body.text).toContain('Agent_3 needs you: permission');
    expect(body.blocks[0].text.type).toBe('mrkdwn');
    const text: string = body.blocks[0].text.text;
    expect(text).toContain('&lt;https://example.com|x&gt; &amp; more');
    expect(text).not.toContain('<https://example.com|x>');
    expect(text).toContain('<https://crew.example.com:7777/#agent=Agent_3|Open in the dashboard>');
    expect(body.blocks[1].elements[0].text).toContain('urgent · box1 · session web');
    expect(r.body).not.toContain(SECRET);
  });
});
