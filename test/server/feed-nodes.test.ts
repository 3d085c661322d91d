import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/audit/logger.js';
import { CrewRouter } from '../../src/crew/router.js';
import { LiveFeed } from '../../src/server/http/feed.js';
import { InProcessClient } from '../../src/server/http/in-process.js';
import type { ToolDeps } from '../../src/server/tool-kit.js';
import { fakeNode, localWith, silentNode } from '../crew/fake-crew.js';

/**
 * The dashboard on a front: its feed reads through the same routed tools as an MCP client,
 * so a node that never answers costs a look its deadline, and the other nodes still show.
 */
describe('the dashboard feed on a front with a silent node', () => {
  it('a look lists the answering nodes’ sessions within the deadline', async () => {
    const log = createLogger(mkdtempSync(join(tmpdir(), 'tabcrew-feed-nodes-')));
    const box1 = fakeNode('box1', (tool) =>
      tool === 'list_sessions'
        ? { sessions: [{ session_id: 's-b1', name: 'app1', root: '/r', agents: [] }] }
        : { session_id: 's-b1', name: 'app1', root: '/r', agents: [] },
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
    const supervisor = { listSessions: async () => ({ sessions: [] }), onStatusChange: quiet, onPermissionRequest: quiet, onNotice: quiet };
    const deps = { log, ready: Promise.resolve(), supervisor, routeTools: (s, d) => router.wrap(s, d) } as ToolDeps;
    const tools = new InProcessClient(deps, 'dashboard feed (http)');
    const feed = new LiveFeed(deps, tools);
    const started = Date.now();
    await feed.look();
    expect(Date.now() - started).toBeLessThan(3000);
    const latest = (feed as unknown as { latest?: { sessions: { session_id: string; node?: string }[] } }).latest;
    expect(latest?.sessions).toEqual([expect.objectContaining({ session_id: 's-b1', name: 'app1', node: 'box1' })]);
    expect(box1.calls.filter((c) => c.tool !== 'list_sessions').map((c) => c.tool)).toEqual(['get_session_status']);
  });
});
