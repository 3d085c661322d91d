import { describe, expect, it } from 'vitest';
import type { Logger } from '../../src/audit/logger.js';
import type { Alert } from '../../src/notify/alert.js';
import { Notices, type LevelledNotice } from '../../src/supervisor/notices.js';
import type { StatusChange } from '../../src/supervisor/observer.js';

const log = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined } as unknown as Logger;

function world(config: ConstructorParameters<typeof Notices>[0]['config'] = {}) {
  let onChange: (c: StatusChange) => void = () => undefined;
  const sent: Alert[] = [];
  const notices = new Notices({
    config,
    env: {},
    log,
    observer: { onChange: (l: (c: StatusChange) => void) => ((onChange = l), () => undefined) } as never,
    alerts: { sinks: [{ send: (a) => sent.push(a) }], dashboardUrl: () => 'http://127.0.0.1:7777' },
  });
  const heard: LevelledNotice[] = [];
  notices.onNotice((n) => heard.push(n));
  return {
    notices,
    sent,
    heard,
    change: (c: Partial<StatusChange>) => onChange({ agent: 'Agent_1', session_id: 's1', from: 'busy', to: 'waiting_permission', source: 'hook', ...c }),
  };
}

describe('Notices with push sinks', () => {
  it('a permission dialog seen again on the next looks (the status flapping) is one alert, with its level and a dashboard link', () => {
    const w = world();
    w.change({});
    w.change({ from: 'waiting_permission', to: 'busy', source: 'screen' });
    w.change({ source: 'screen' });
    w.change({ source: 'hook' });
    expect(w.sent).toHaveLength(1);
    expect(w.sent[0]).toMatchObject({ event: 'permission', level: 'urgent', agent: 'Agent_1', session: 's1', link: 'http://127.0.0.1:7777/#agent=Agent_1' });
    expect(w.heard.map((n) => [n.reason, n.level])).toEqual([['permission', 'urgent']]);
    // Answered (a hook says the tool ran), then the next dialog: a new event, even a second later.
    w.change({ from: 'waiting_permission', to: 'busy', source: 'hook' });
    w.change({});
    expect(w.sent.map((a) => a.event)).toEqual(['permission', 'permission']);
  });

  it('a dialog that opened and was answered between two looks (a step that no longer stands) alerts nobody', () => {
    const w = world();
    w.change({ from: 'busy', to: 'waiting_permission', passed: true });
    w.change({ from: 'waiting_permission', to: 'busy', passed: true });
    w.change({ from: 'busy', to: 'idle' });
    expect(w.sent).toEqual([]);
    expect(w.heard).toEqual([]);
    // A dialog open at the look is told as ever.
    w.change({});
    expect(w.sent.map((a) => a.event)).toEqual(['permission']);
  });

  it('takes a reason it has never heard of, as a warning', () => {
    const w = world();
    w.notices.tell({ agent: 'Agent_2', session_id: 's1', reason: 'usage_limit' as never, message: 'paused until 03:11', action: 'wait' });
    w.notices.tell({ agent: 'Agent_2', session_id: 's1', reason: 'brand_new' as never, message: 'm', action: 'a' });
    expect(w.sent.map((a) => [a.event, a.level])).toEqual([
      ['usage_limit', 'warning'],
      ['brand_new', 'warning'],
    ]);
  });

  it('redacts what it pushes, while the listeners hear it once too', () => {
    const w = world();
    const key = 'sk-ant-api03-' + 'Zz9'.repeat(10);
    w.notices.tell({ agent: 'Agent_3', session_id: 's1', reason: 'crashed', message: `exited: ANTHROPIC_API_KEY=${key}`, action: 'look', episode: 'e1' });
    w.notices.tell({ agent: 'Agent_3', session_id: 's1', reason: 'crashed', message: `exited: ANTHROPIC_API_KEY=${key}`, action: 'look', episode: 'e1' });
    expect(w.sent).toHaveLength(1);
    expect(JSON.stringify(w.sent)).not.toContain(key);
    expect(w.heard).toHaveLength(1);
  });

  it('--notify-min and quiet hours hold back pushes (listeners still hear every event); urgent ones pass in quiet hours', () => {
    const w = world({ notifyMin: 'warning', notifyQuiet: { from: 22 * 60, to: 7 * 60 } });
    const night = new Date('2026-12-06T23:30:00');
    const noon = new Date('2026-12-06T12:00:00');
    w.notices.tell({ agent: 'A', session_id: 's', reason: 'coordination_finished', message: 'm', action: 'a', episode: 'r1' }, noon);
    w.notices.tell({ agent: 'A', session_id: 's', reason: 'stuck', message: 'm', action: 'a', episode: '1' }, night);
    w.notices.tell({ agent: 'A', session_id: 's', reason: 'stuck', message: 'm', action: 'a', episode: '2' }, noon);
    w.notices.tell({ agent: 'A', session_id: 's', reason: 'permission', message: 'm', action: 'a' }, night);
    expect(w.sent.map((a) => a.event)).toEqual(['stuck', 'permission']);
    expect(w.heard).toHaveLength(4);
  });
});
