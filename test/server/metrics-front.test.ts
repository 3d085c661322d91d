import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/audit/logger.js';
import { CrewRouter } from '../../src/crew/router.js';
import { InProcessClient } from '../../src/server/http/in-process.js';
import { CrewMetrics } from '../../src/server/http/metrics.js';
import type { ToolDeps } from '../../src/server/tool-kit.js';
import { fakeNode, localWith, silentNode } from '../crew/fake-crew.js';
import { parsePrometheusText, valueOf } from '../support/prom-text.js';

const usage = (model: string, output: number) => ({
  input: 10,
  output,
  cache_read: 0,
  cache_write: 0,
  total_tokens: 10 + output,
  cost_usd: 0.5,
  cost_complete: true,
  unpriced_models: [],
  by_model: [{ model, input: 10, output, cache_read: 0, cache_write: 0, cost_usd: 0.5 }],
});

/** What a scrape answers, as text. */
function scrape(metrics: CrewMetrics): Promise<string> {
  return metrics.scrape();
}

/**
 * `/metrics` on a front: the crew's agents, tokens and pending requests come through the
 * routed tools, labelled with their node, and each node link is up or down as it answered.
 */
describe('/metrics on a front', () => {
  it("reports each node up or down, and the answering node's agents, tokens and requests under its name", async () => {
    const log = createLogger(mkdtempSync(join(tmpdir(), 'tabcrew-metrics-front-')));
    const agent = (name: string, status: string, output: number) => ({
      agent: name,
      status,
      status_source: 'hook',
      since: new Date().toISOString(),
      claude_session_id: null,
      tokens: { input: 10, output, cache_read: 0, cache_creation: 0 },
      tasks: { open: 0, done: 0 },
      health: { health: 'ok', reason: 'ok', since: new Date().toISOString() },
      usage: usage('claude-x-1', output),
    });
    const box1 = fakeNode('box1', (tool) =>
      tool === 'list_sessions'
        ? { sessions: [{ session_id: 's-b1', name: 'app1', root: '/r', agents: ['Agent_1', 'Agent_2'] }] }
        : tool === 'list_pending_permissions'
          ? { requests: [{ request_id: 'p-1', agent: 'Agent_2', session_id: 's-b1', tool: 'Bash', input_summary: 'ls', since: new Date().toISOString() }] }
          : {
              session_id: 's-b1',
              name: 'app1',
              root: '/r',
              agents: [agent('Agent_1', 'idle', 5), agent('Agent_2', 'waiting_permission', 7)],
              todo: null,
              usage: usage('claude-x-1', 12),
              crew_usage: usage('claude-x-1', 12),
            },
    );
    const router = new CrewRouter({
      links: new Map([
        ['box1', box1],
        ['mute', silentNode('mute')],
      ]),
      log,
      store: () => undefined,
      local: localWith(),
      readTimeoutMs: 300,
    });
    const quiet = () => () => undefined;
    const supervisor = {
      listSessions: async () => ({ sessions: [] }),
      listPendingPermissions: async () => [],
      onStatusChange: quiet,
      onPermissionRequest: quiet,
      onNotice: quiet,
      onDelivery: quiet,
    };
    const deps = { log, ready: Promise.resolve(), supervisor, routeTools: (s, d) => router.wrap(s, d) } as ToolDeps;
    const metrics = new CrewMetrics(deps, new InProcessClient(deps, 'metrics (http)'));
    const families = parsePrometheusText(await scrape(metrics));

    expect(valueOf(families, 'tabcrew_node_up', { node: 'box1' })).toBe(1);
    expect(valueOf(families, 'tabcrew_node_up', { node: 'mute' })).toBe(0);
    expect(valueOf(families, 'tabcrew_node_up', { node: 'local' })).toBeUndefined();
    expect(valueOf(families, 'tabcrew_agents', { node: 'box1', status: 'idle' })).toBe(1);
    expect(valueOf(families, 'tabcrew_agents', { node: 'box1', status: 'waiting_permission' })).toBe(1);
    expect(valueOf(families, 'tabcrew_agents', { node: 'mute', status: 'idle' })).toBe(0);
    expect(valueOf(families, 'tabcrew_tokens', { node: 'box1', model: 'claude-x-1', kind: 'output' })).toBe(12);
    expect(valueOf(families, 'tabcrew_cost_usd', { node: 'box1', model: 'claude-x-1' })).toBe(1);
    expect(valueOf(families, 'tabcrew_pending_permission_requests', { node: 'box1' })).toBe(1);
    metrics.close();
  });
});
