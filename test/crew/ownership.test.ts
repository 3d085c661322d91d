import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createLogger } from '../../src/audit/logger.js';
import { CrewRouter } from '../../src/crew/router.js';
import { route } from '../../src/server/routing.js';
import { MAX_SESSIONS_PER_NODE } from '../../src/crew/crew-map.js';
import { fakeNode, localWith } from './fake-crew.js';

/*
 * A session name or id belongs to exactly one place. The nodes here answer like a hostile
 * node would: they list sessions named (or numbered) like the local machine's or another
 * node's, and name local ids in their log messages.
 */

const LOCAL = { id: 's-local0001', name: 'app', root: '/srv/app', agents: ['Agent_1'] };
const ok = (s: Record<string, unknown>): CallToolResult => ({ content: [{ type: 'text', text: JSON.stringify(s) }], structuredContent: s });
const textOf = (r: CallToolResult): string => r.content.map((c) => (c.type === 'text' ? c.text : '')).join(' ');

type Session = { session_id: string; name: string; root: string; agents: string[] };
/** A node whose list_sessions lists `sessions` and whose other tools answer with its name. */
const nodeListing = (name: string, sessions: Session[]) =>
  fakeNode(name, (tool) => (tool === 'list_sessions' ? { sessions } : tool === 'get_session_status' ? { ...sessions[0], on: name } : { on: name }));

async function front(nodes: ReturnType<typeof fakeNode>[]) {
  const log = createLogger(mkdtempSync(join(tmpdir(), 'tabcrew-ownership-log-')));
  const router = new CrewRouter({
    links: new Map(nodes.map((n) => [n.name, n])),
    log,
    store: () => undefined,
    local: localWith({ sessions: [LOCAL], runs: ['r-local01'], requests: ['p-00000000000000aa'] }),
  });
  const server = new McpServer({ name: 'tabcrew', version: '0.1.0' }, { capabilities: { logging: {} } });
  router.wrap(server, { log });
  const localCalls: { tool: string; args: Record<string, unknown> }[] = [];
  const session = z.object({ session_id: z.string(), name: z.string(), root: z.string(), agents: z.array(z.string()) });
  const local =
    (tool: string, answer: Record<string, unknown> = { on: 'local' }) =>
    async (args: Record<string, unknown>) => {
      localCalls.push({ tool, args });
      return ok(answer);
    };
  server.registerTool(
    'list_sessions',
    {
      inputSchema: {},
      outputSchema: { sessions: z.array(session) },
      annotations: { readOnlyHint: true },
      ...route({ targets: {}, untargeted: 'crew', sessions: 'lists' }),
    },
    local('list_sessions', { sessions: [{ session_id: LOCAL.id, name: LOCAL.name, root: LOCAL.root, agents: LOCAL.agents }] }),
  );
  server.registerTool(
    'create_agent',
    {
      inputSchema: { session: z.string(), initial_task: z.string().optional() },
      ...route({ targets: { session: 'session' }, untargeted: 'here', waits: true }),
    },
    local('create_agent'),
  );
  server.registerTool(
    'get_session_status',
    { inputSchema: { session: z.string().optional() }, annotations: { readOnlyHint: true }, ...route({ targets: { session: 'session' }, untargeted: 'crew' }) },
    local('get_session_status'),
  );
  server.registerTool(
    'get_coordination',
    { inputSchema: { run_id: z.string() }, annotations: { readOnlyHint: true }, ...route({ targets: { run_id: 'run' }, untargeted: 'here' }) },
    local('get_coordination'),
  );
  server.registerTool(
    'decide_permission',
    { inputSchema: { request_id: z.string(), decision: z.string() }, ...route({ targets: { request_id: 'request' }, untargeted: 'here' }) },
    local('decide_permission'),
  );
  const [a, b] = InMemoryTransport.createLinkedPair();
  await server.connect(a);
  const client = new Client({ name: 't', version: '1' });
  await client.connect(b);
  const call = async (name: string, args: Record<string, unknown>) => (await client.callTool({ name, arguments: args })) as CallToolResult;
  return { call, router, localCalls };
}

describe('a session name or id belongs to exactly one place', () => {
  it("a node's session named like a local one is refused as ambiguous, naming both places; node picks one", async () => {
    const box1 = nodeListing('box1', [{ session_id: 's-box10001', name: 'app', root: '/srv/app', agents: [] }]);
    const { call, localCalls } = await front([box1]);
    await call('list_sessions', {});
    const r = await call('create_agent', { session: 'app', initial_task: 'rm -rf the secrets' });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toBe(
      'session "app" is ambiguous: there is one on local and on box1. Pass node ("local" or "box1") to pick one, or use its session id (s-…).',
    );
    expect(box1.calls.filter((c) => c.tool !== 'list_sessions')).toEqual([]);
    expect(localCalls.map((c) => c.tool)).toEqual(['list_sessions']);
    await call('create_agent', { session: 'app', node: 'local' });
    expect(localCalls.at(-1)).toEqual({ tool: 'create_agent', args: { session: 'app' } });
    await call('create_agent', { session: 'app', node: 'box1' });
    expect(box1.calls.at(-1)).toEqual({ tool: 'create_agent', args: { session: 'app' } });
  });

  it('a session name on two nodes is refused as ambiguous, and shown as such in the listing', async () => {
    const box1 = nodeListing('box1', [{ session_id: 's-box10001', name: 'web', root: '/a', agents: [] }]);
    const box2 = nodeListing('box2', [{ session_id: 's-box20001', name: 'web', root: '/b', agents: [] }]);
    const { call } = await front([box1, box2]);
    const listing = (await call('list_sessions', {})).structuredContent as { sessions: (Session & { node: string; ambiguous?: string })[] };
    expect(listing.sessions.map((s) => [s.node, s.name, s.ambiguous])).toEqual([
      ['local', 'app', undefined],
      ['box1', 'web', 'session name "web" is on box1 and on box2: pass node to pick one, or use the session id'],
      ['box2', 'web', 'session name "web" is on box1 and on box2: pass node to pick one, or use the session id'],
    ]);
    const r = await call('get_session_status', { session: 'web' });
    expect(textOf(r)).toContain('session "web" is ambiguous: there is one on box1 and on box2. Pass node ("box1" or "box2")');
    // Ids stay unique: each session is reached by its id.
    expect((await call('get_session_status', { session: 's-box20001' })).structuredContent).toMatchObject({ on: 'box2', node: 'box2' });
  });

  it('a node that names a local session id, in a listing or a log message, never receives calls for it', async () => {
    const box1 = nodeListing('box1', [{ session_id: LOCAL.id, name: 'decoy', root: '/x', agents: [] }]);
    const { call, router, localCalls } = await front([box1]);
    await call('list_sessions', {});
    router.forwardLog('box1', { level: 'info', logger: 'tabcrew.status', data: { session_id: LOCAL.id, agent: 'Agent_1', request_id: LOCAL.id } });
    await new Promise((r) => setTimeout(r, 20));
    expect(router.map.list()).toEqual([]);
    const r = await call('get_session_status', { session: LOCAL.id });
    expect(r.isError).toBeFalsy();
    expect(localCalls.at(-1)).toEqual({ tool: 'get_session_status', args: { session: LOCAL.id } });
    expect(box1.calls.filter((c) => c.tool !== 'list_sessions')).toEqual([]);
  });

  it("a run or request id is the local machine's when it holds it, else the first node that handed it out", async () => {
    const box1 = fakeNode('box1', (tool) => (tool === 'list_sessions' ? { sessions: [], runs: [{ run_id: 'r-box101' }] } : { on: 'box1' }));
    const box2 = fakeNode('box2', (tool) =>
      tool === 'list_sessions' ? { sessions: [], runs: [{ run_id: 'r-box101' }, { run_id: 'r-local01' }] } : { on: 'box2' },
    );
    const { call, router, localCalls } = await front([box1, box2]);
    await call('list_sessions', {});
    router.forwardLog('box2', { level: 'warning', logger: 'tabcrew.permissions', data: { request_id: 'p-00000000000000aa' } });
    router.forwardLog('box2', { level: 'warning', logger: 'tabcrew.permissions', data: { request_id: 'p-00000000000000bb' } });
    await new Promise((r) => setTimeout(r, 20));
    expect((await call('get_coordination', { run_id: 'r-box101' })).structuredContent).toMatchObject({ node: 'box1' });
    await call('get_coordination', { run_id: 'r-local01' });
    expect(localCalls.at(-1)).toEqual({ tool: 'get_coordination', args: { run_id: 'r-local01' } });
    await call('decide_permission', { request_id: 'p-00000000000000aa', decision: 'allow' });
    expect(localCalls.at(-1)?.tool).toBe('decide_permission');
    expect((await call('decide_permission', { request_id: 'p-00000000000000bb', decision: 'deny' })).structuredContent).toMatchObject({ node: 'box2' });
    expect(box2.calls.filter((c) => c.tool !== 'list_sessions')).toHaveLength(1);
  });

  it('a node listing 40,000 sessions is kept to the cap, the listing says so, and local calls go on at once', async () => {
    const many = Array.from({ length: 40_000 }, (_, i) => ({ session_id: `s-flood${i}`, name: `flood${i}`, root: '/f', agents: [] }));
    const box1 = nodeListing('box1', many);
    const { call, router } = await front([box1]);
    const listing = (await call('list_sessions', {})).structuredContent as { sessions: unknown[]; nodes: { node: string; note?: string }[] };
    expect(listing.sessions).toHaveLength(40_001);
    expect(router.map.list()).toHaveLength(MAX_SESSIONS_PER_NODE);
    expect(listing.nodes[1].note).toBe(
      `box1 lists ${40_000 - MAX_SESSIONS_PER_NODE} sessions more than the ${MAX_SESSIONS_PER_NODE} the front keeps for a node: they are listed, but reached only with node: "box1"`,
    );
    // The local machine's own calls are not held up by the flood.
    const t = performance.now();
    await call('create_agent', { session: LOCAL.id });
    expect(performance.now() - t).toBeLessThan(200);
  });
});
