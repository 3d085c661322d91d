import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/audit/logger.js';
import type { InProcessClient } from '../../src/server/http/in-process.js';
import { CrewMetrics, METRICS_CALLER } from '../../src/server/http/metrics.js';
import { CallEvents, type ToolDeps } from '../../src/server/tool-kit.js';
import type { StatusChange } from '../../src/supervisor/supervisor.js';
import type { DeliveryTiming } from '../../src/supervisor/context.js';
import { parsePrometheusText, valueOf } from '../support/prom-text.js';

/** A server with no sessions, whose status changes, deliveries and tool calls the test makes. */
function world() {
  let onStatus: (c: StatusChange) => void = () => undefined;
  let onDelivery: (d: DeliveryTiming) => void = () => undefined;
  const supervisor = {
    onStatusChange: (l: typeof onStatus) => ((onStatus = l), () => undefined),
    onDelivery: (l: typeof onDelivery) => ((onDelivery = l), () => undefined),
  };
  const calls = new CallEvents();
  const log = createLogger(mkdtempSync(join(tmpdir(), 'tabcrew-metrics-counts-')));
  const deps = { log, ready: Promise.resolve(), supervisor, calls } as unknown as ToolDeps;
  const tools = {
    callTool: async (name: string) => ({ content: [], structuredContent: name === 'list_sessions' ? { sessions: [] } : { requests: [] } }),
  } as unknown as InProcessClient;
  let now = 0;
  const metrics = new CrewMetrics(deps, tools, () => now);
  const scrape = async () => parsePrometheusText(await metrics.scrape());
  const status = (agent: string, from: string, to: string, at: number) => {
    now = at;
    onStatus({ agent, session_id: 's-1', from, to, source: 'hook' } as StatusChange);
  };
  const call = (tool: string, outcome: 'ok' | 'refused' | 'failed', result?: Record<string, unknown>, caller = 'client') =>
    calls.emit({ tool, outcome, caller, result });
  return { scrape, status, call, delivery: (d: DeliveryTiming) => onDelivery(d) };
}

describe('what /metrics counts as it happens', () => {
  it('a turn runs from busy to idle, through a permission wait, and is timed', async () => {
    const w = world();
    await Promise.resolve();
    w.status('Agent_1', 'starting', 'busy', 1_000);
    w.status('Agent_1', 'busy', 'waiting_permission', 5_000);
    w.status('Agent_1', 'waiting_permission', 'busy', 20_000);
    w.status('Agent_1', 'busy', 'idle', 31_000);
    // Seen idle without being seen busy: no turn.
    w.status('Agent_2', 'starting', 'idle', 32_000);
    // A turn that ends by an exit is not a turn.
    w.status('Agent_3', 'idle', 'busy', 33_000);
    w.status('Agent_3', 'busy', 'exited', 34_000);
    w.status('Agent_3', 'exited', 'idle', 35_000);
    const f = await w.scrape();
    expect(valueOf(f, 'tabcrew_turn_duration_seconds_count')).toBe(1);
    expect(valueOf(f, 'tabcrew_turn_duration_seconds_sum')).toBe(30);
    expect(valueOf(f, 'tabcrew_turn_duration_seconds_bucket', { le: '15' })).toBe(0);
    expect(valueOf(f, 'tabcrew_turn_duration_seconds_bucket', { le: '30' })).toBe(1);
  });

  it('an agent ends once: exited then deleted is one end; deletions count children and sessions', async () => {
    const w = world();
    await Promise.resolve();
    w.status('Agent_2', 'idle', 'exited', 1);
    w.call('delete_agent', 'ok', { agent: 'Agent_2', deleted: true });
    w.call('delete_agent', 'ok', { agent: 'Agent_1', deleted: true, children_deleted: ['Agent_4'] });
    w.call('delete_session', 'ok', { session_id: 's-2', deleted: true, agents_deleted: ['Agent_5', 'Agent_6'] });
    // A relaunched agent that exits again has ended again.
    w.status('Agent_7', 'idle', 'exited', 2);
    w.status('Agent_7', 'exited', 'starting', 3);
    w.status('Agent_7', 'idle', 'exited', 4);
    const f = await w.scrape();
    expect(valueOf(f, 'tabcrew_agents_ended_total', { how: 'exited' })).toBe(3);
    expect(valueOf(f, 'tabcrew_agents_ended_total', { how: 'deleted' })).toBe(4);
  });

  it('tool calls count by tool and outcome; a refused create_agent creates nothing; the scrape’s own reads are not counted', async () => {
    const w = world();
    w.call('create_agent', 'ok', { agent: 'Agent_1' });
    w.call('create_agent', 'refused');
    w.call('create_agent', 'failed');
    w.call('list_sessions', 'ok', { sessions: [] }, METRICS_CALLER);
    await w.scrape();
    const f = await w.scrape();
    expect(valueOf(f, 'tabcrew_agents_created_total')).toBe(1);
    expect(valueOf(f, 'tabcrew_tool_calls_total', { tool: 'create_agent', outcome: 'ok' })).toBe(1);
    expect(valueOf(f, 'tabcrew_tool_calls_total', { tool: 'create_agent', outcome: 'refused' })).toBe(1);
    expect(valueOf(f, 'tabcrew_tool_calls_total', { tool: 'create_agent', outcome: 'failed' })).toBe(1);
    expect(valueOf(f, 'tabcrew_tool_calls_total', { tool: 'list_sessions', outcome: 'ok' })).toBeUndefined();
  });

  it('deliveries are timed by outcome', async () => {
    const w = world();
    await Promise.resolve();
    w.delivery({ agent: 'Agent_1', outcome: 'confirmed', ms: 400 });
    w.delivery({ agent: 'Agent_1', outcome: 'unknown', ms: 10_000 });
    const f = await w.scrape();
    expect(valueOf(f, 'tabcrew_delivery_seconds_bucket', { outcome: 'confirmed', le: '0.5' })).toBe(1);
    expect(valueOf(f, 'tabcrew_delivery_seconds_sum', { outcome: 'unknown' })).toBe(10);
  });
});
