import { describe, expect, it } from 'vitest';
import type { AuditEvent, AuditRecord } from '../../src/audit/events.js';
import { feedAudit } from '../../src/server/http/feed-audit.js';

function fakeAudit(fail = false) {
  const written: AuditEvent[] = [];
  const tries = { count: 0 };
  return {
    written,
    tries,
    append: async (event: AuditEvent): Promise<AuditRecord> => {
      tries.count++;
      if (fail) throw new Error('disk full');
      written.push(event);
      return { ...event, seq: written.length } as unknown as AuditRecord;
    },
  };
}
const look = (tool: string, agent?: string, outcome = 'ok'): AuditEvent => ({
  type: 'tool_call',
  tool,
  caller: 'dashboard feed (http)',
  outcome,
  ms: 1,
  ...(agent ? { agent } : {}),
});

describe("the dashboard feed's audit records", () => {
  it('a read repeated within the window is written once; another target, or the same after the window, is written again', async () => {
    const audit = fakeAudit();
    let t = 0;
    const feed = feedAudit(
      () => audit,
      60_000,
      () => t,
    )()!;
    const first = await feed.append(look('get_agent_output', 'Agent_1'));
    for (let i = 0; i < 50; i++) expect(await feed.append(look('get_agent_output', 'Agent_1'))).toBe(first);
    await feed.append(look('get_agent_output', 'Agent_2'));
    await feed.append(look('list_sessions'));
    t = 60_000;
    await feed.append(look('get_agent_output', 'Agent_1'));
    expect(audit.written.map((e) => [e.tool, e.agent])).toEqual([
      ['get_agent_output', 'Agent_1'],
      ['get_agent_output', 'Agent_2'],
      ['list_sessions', undefined],
      ['get_agent_output', 'Agent_1'],
    ]);
  });

  it('refusals, failures and other events are always written', async () => {
    const audit = fakeAudit();
    const feed = feedAudit(() => audit)()!;
    for (let i = 0; i < 3; i++) {
      await feed.append(look('get_agent_output', 'Agent_9', 'refused'));
      await feed.append(look('get_session_status', undefined, 'failed'));
      await feed.append({ type: 'status_change', agent: 'Agent_1' });
    }
    expect(audit.written).toHaveLength(9);
  });

  it('a read that could not be recorded is tried again at the next look, and no log means no records', async () => {
    const broken = fakeAudit(true);
    const feed = feedAudit(() => broken)()!;
    await expect(feed.append(look('list_sessions'))).rejects.toThrow('disk full');
    await new Promise((r) => setImmediate(r));
    await expect(feed.append(look('list_sessions'))).rejects.toThrow('disk full');
    expect(broken.tries.count).toBe(2);
    expect(feedAudit(() => undefined)()).toBeUndefined();
  });
});
