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
import { routeOf, route, type Route } from '../../src/server/routing.js';
import type { ToolDeps } from '../../src/server/tool-kit.js';
import { registerTools } from '../../src/server/tools/index.js';
import { fakeNode, localWith } from './fake-crew.js';

const log = createLogger(mkdtempSync(join(tmpdir(), 'tabcrew-declared-log-')));
const ok = (s: Record<string, unknown>): CallToolResult => ({ content: [{ type: 'text', text: JSON.stringify(s) }], structuredContent: s });

/** Every tool tabcrew registers, with its config, as a server would receive it. */
function registeredTools(): { name: string; config: { inputSchema?: Record<string, unknown>; annotations?: { readOnlyHint?: boolean } } }[] {
  const seen: { name: string; config: never }[] = [];
  const server = { registerTool: (name: string, config: never) => void seen.push({ name, config }) } as unknown as McpServer;
  registerTools(server, { log } as ToolDeps);
  return seen;
}

async function frontWith(register: (server: McpServer) => void, nodes = [fakeNode('box1', () => ({ on: 'box1' }))]) {
  const audit: Record<string, unknown>[] = [];
  const router = new CrewRouter({ links: new Map(nodes.map((n) => [n.name, n])), log, store: () => undefined, local: localWith() });
  const server = new McpServer({ name: 'tabcrew', version: '0.1.0' });
  router.wrap(server, { log, audit: { append: async (e: Record<string, unknown>) => void audit.push(e) } as never, clientName: () => 'the client' });
  register(server);
  const [a, b] = InMemoryTransport.createLinkedPair();
  await server.connect(a);
  const client = new Client({ name: 't', version: '1' });
  await client.connect(b);
  const call = async (name: string, args: Record<string, unknown>) => (await client.callTool({ name, arguments: args })) as CallToolResult;
  return { call, audit, router, nodes };
}

describe('routing by declaration', () => {
  it('every tool declares its route next to its schema, naming arguments it has; only reads ask the whole crew', () => {
    const tools = registeredTools();
    expect(tools.length).toBeGreaterThanOrEqual(20);
    for (const { name, config } of tools) {
      const r = routeOf(config) as Route;
      expect(r, `${name} declares a route`).toBeDefined();
      for (const arg of Object.keys(r.targets)) expect(Object.keys(config.inputSchema ?? {}), `${name}.${arg}`).toContain(arg);
      if (r.untargeted === 'crew') expect(config.annotations?.readOnlyHint, `${name} is read-only`).toBe(true);
    }
    const byName = Object.fromEntries(tools.map((t) => [t.name, routeOf(t.config)!]));
    expect(byName.send_message_to_agent).toEqual({ targets: { agent: 'agent' }, untargeted: 'here', waits: true });
    expect(byName.decide_permission.targets).toEqual({ request_id: 'request' });
    expect(byName.list_sessions).toMatchObject({ untargeted: 'crew', sessions: 'lists' });
  });

  it('a tool without a route, or a crew-wide tool that changes things, is refused at registration', async () => {
    await expect(frontWith((s) => s.registerTool('vague', { inputSchema: { session: z.string() } }, async () => ok({})))).rejects.toThrow(
      'tool vague declares no route: add ...route({ targets, untargeted }) next to its schema',
    );
    await expect(
      frontWith((s) => s.registerTool('wipe_all', { inputSchema: {}, ...route({ targets: {}, untargeted: 'crew' }) }, async () => ok({}))),
    ).rejects.toThrow("tool wipe_all changes things, so it cannot ask every node at once (untargeted: 'crew')");
  });

  it('only declared arguments route: an undeclared `session` stays here, a declared `where` goes to its node', async () => {
    const box1 = fakeNode('box1', (tool) =>
      tool === 'list_sessions' ? { sessions: [{ session_id: 's-b1', name: 'app1', root: '/r', agents: [] }] } : { on: 'box1' },
    );
    const { call, nodes } = await frontWith(
      (s) => {
        s.registerTool(
          'list_sessions',
          { inputSchema: {}, annotations: { readOnlyHint: true }, ...route({ targets: {}, untargeted: 'crew', sessions: 'lists' }) },
          async () => ok({ sessions: [] }),
        );
        s.registerTool('note', { inputSchema: { session: z.string() }, ...route({ targets: {}, untargeted: 'here' }) }, async () => ok({ on: 'local' }));
        s.registerTool('peek', { inputSchema: { where: z.string() }, ...route({ targets: { where: 'session' }, untargeted: 'here' }) }, async () =>
          ok({ on: 'local' }),
        );
      },
      [box1],
    );
    // Up before the tools were registered: adopted as soon as the listing tool is, so its sessions route at once.
    await new Promise((r) => setTimeout(r, 20));
    expect((await call('peek', { where: 'app1' })).structuredContent).toEqual({ on: 'box1', node: 'box1' });
    expect((await call('note', { session: 'app1' })).structuredContent).toEqual({ on: 'local' });
    expect(nodes[0].calls.map((c) => c.tool)).toEqual(['list_sessions', 'peek']);
  });

  it("a routed call is recorded through the server's own audit path: its client's name, and never returned unrecorded", async () => {
    const { call, audit } = await frontWith((s) =>
      s.registerTool('poke', { inputSchema: { agent: z.string() }, ...route({ targets: { agent: 'agent' }, untargeted: 'here' }) }, async () => ok({})),
    );
    await call('poke', { agent: 'box1/Agent_1' });
    expect(audit).toEqual([expect.objectContaining({ tool: 'poke', caller: 'the client', outcome: 'ok', args: expect.objectContaining({ node: 'box1' }) })]);

    const failing = new CrewRouter({ links: new Map([['box1', fakeNode('box1', () => ({ on: 'box1' }))]]), log, store: () => undefined, local: localWith() });
    const server = new McpServer({ name: 'tabcrew', version: '0.1.0' });
    failing.wrap(server, { log, audit: { append: async () => Promise.reject(new Error('disk full')) } as never });
    server.registerTool('poke', { inputSchema: { agent: z.string() }, ...route({ targets: { agent: 'agent' }, untargeted: 'here' }) }, async () => ok({}));
    const [a, b] = InMemoryTransport.createLinkedPair();
    await server.connect(a);
    const client = new Client({ name: 't', version: '1' });
    await client.connect(b);
    const r = (await client.callTool({ name: 'poke', arguments: { agent: 'box1/Agent_1' } })) as CallToolResult;
    expect(r.isError).toBe(true);
    expect(JSON.stringify(r.content)).toContain('poke ran (ok) but could not be recorded in the audit log: disk full');
  });
});
