import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { LoggingMessageNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { createLogger } from '../../src/audit/logger.js';
import { NodeDownError } from '../../src/crew/node-link.js';
import { fakeNode, localWith, silentNode } from './fake-crew.js';
import { CrewRouter } from '../../src/crew/router.js';
import { route } from '../../src/server/routing.js';
import { NODE_READ_LIMIT_MS } from '../../src/crew/call-limits.js';

const ok = (s: Record<string, unknown>): CallToolResult => ({ content: [{ type: 'text', text: JSON.stringify(s) }], structuredContent: s });

/** Tools the router has never heard of, as another helper would add them: each declares its route. */
async function crewWith(nodes: ReturnType<typeof fakeNode>[], opts: { readTimeoutMs?: number } = {}) {
  const audit: Record<string, unknown>[] = [];
  const log = createLogger(mkdtempSync(join(tmpdir(), 'tabcrew-router-log-')));
  const router = new CrewRouter({
    ...opts,
    links: new Map(nodes.map((n) => [n.name, n])),
    log,
    store: () => undefined,
    local: localWith(),
  });
  const server = new McpServer({ name: 'tabcrew', version: '0.1.0' }, { capabilities: { logging: {} } });
  router.wrap(server, { log, audit: { append: async (e: Record<string, unknown>) => void audit.push(e) } as never, clientName: () => 't' });
  const localCalls: Record<string, unknown>[] = [];
  server.registerTool(
    'list_widgets',
    {
      description: 'widgets',
      inputSchema: {},
      outputSchema: { widgets: z.array(z.object({ widget_id: z.string(), agent: z.string() })) },
      annotations: { readOnlyHint: true },
      ...route({ targets: {}, untargeted: 'crew' }),
    },
    async (args) => {
      localCalls.push(args);
      return ok({ widgets: [{ widget_id: 'w-local', agent: 'Agent_1' }] });
    },
  );
  server.registerTool(
    'poke_widget',
    {
      description: 'poke',
      inputSchema: { widget_id: z.string().optional(), agent: z.string().optional() },
      outputSchema: { poked: z.string() },
      ...route({ targets: { widget_id: 'run', agent: 'agent' }, untargeted: 'here' }),
    },
    async (args) => {
      localCalls.push(args);
      return ok({ poked: 'local' });
    },
  );
  const [a, b] = InMemoryTransport.createLinkedPair();
  await server.connect(a);
  const client = new Client({ name: 't', version: '1' });
  await client.connect(b);
  return { client, audit, localCalls, router };
}

describe('the crew router wraps any tool', () => {
  const box1 = () => fakeNode('box1', (tool) => (tool === 'list_widgets' ? { widgets: [{ widget_id: 'w-b1', agent: 'Agent_2' }] } : { poked: 'box1' }));
  const box2 = () => fakeNode('box2', () => new NodeDownError('node box2 is down since then: Connection refused.'));

  it('a tool registered after the wrap gets an optional node argument and node fields in its results', async () => {
    const { client } = await crewWith([box1()]);
    const { tools } = await client.listTools();
    const list = tools.find((t) => t.name === 'list_widgets')!;
    expect(Object.keys(list.inputSchema.properties ?? {})).toEqual(['node']);
    expect(JSON.stringify(list.outputSchema)).toContain('"nodes"');
  });

  it('a listing fans out, names the node of every entry and reports a down node without failing the call', async () => {
    const b1 = box1();
    const { client, audit } = await crewWith([b1, box2()]);
    const r = (await client.callTool({ name: 'list_widgets', arguments: {} })) as CallToolResult;
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toEqual({
      widgets: [
        { widget_id: 'w-local', agent: 'Agent_1', node: 'local' },
        { widget_id: 'w-b1', agent: 'box1/Agent_2', node: 'box1' },
      ],
      nodes: [
        { node: 'local', ok: true },
        { node: 'box1', ok: true },
        { node: 'box2', ok: false, error: 'node box2 is down since then: Connection refused.', fix: 'start it' },
      ],
    });
    expect(audit.map((e) => [e.tool, (e.args as Record<string, unknown>).node, e.outcome]).sort()).toEqual([
      ['list_widgets', 'box1', 'ok'],
      ['list_widgets', 'box2', 'refused'],
    ]);
  });

  it('an id a node handed out, or an agent prefix, routes the next call to that node with its own names', async () => {
    const b1 = box1();
    const { client, localCalls } = await crewWith([b1]);
    await client.callTool({ name: 'list_widgets', arguments: {} });
    const byId = (await client.callTool({ name: 'poke_widget', arguments: { widget_id: 'w-b1' } })) as CallToolResult;
    expect(byId.structuredContent).toEqual({ poked: 'box1', node: 'box1' });
    await client.callTool({ name: 'poke_widget', arguments: { agent: 'box1/Agent_2' } });
    expect(b1.calls.at(-1)).toEqual({ tool: 'poke_widget', args: { agent: 'Agent_2' } });
    const local = (await client.callTool({ name: 'poke_widget', arguments: { agent: 'Agent_1' } })) as CallToolResult;
    expect(local.structuredContent).toEqual({ poked: 'local' });
    expect(localCalls.at(-1)).toEqual({ agent: 'Agent_1' });
  });

  it('an unknown node, or agents on two nodes in one call, is refused saying which nodes exist', async () => {
    const { client } = await crewWith([box1()]);
    const r = (await client.callTool({ name: 'poke_widget', arguments: { node: 'box9' } })) as CallToolResult;
    expect(r.isError).toBe(true);
    expect(JSON.stringify(r.content)).toContain('no node \\"box9\\" in this crew; nodes: local, box1');
  });

  it('node "*" asks every node even with a target argument, and is refused for a tool that changes things', async () => {
    const b1 = box1();
    const { client } = await crewWith([b1]);
    const r = (await client.callTool({ name: 'list_widgets', arguments: { node: '*' } })) as CallToolResult;
    expect((r.structuredContent as { nodes: unknown[] }).nodes).toEqual([
      { node: 'local', ok: true },
      { node: 'box1', ok: true },
    ]);
    const poke = (await client.callTool({ name: 'poke_widget', arguments: { node: '*' } })) as CallToolResult;
    expect(poke.isError).toBe(true);
    expect(JSON.stringify(poke.content)).toContain('read-only tools; poke_widget changes things');
    expect(b1.calls.map((c) => c.tool)).toEqual(['list_widgets']);
  });

  it("a node's log messages reach the client naming the node, and a request id in one routes the answer to that node", async () => {
    const b1 = box1();
    const { client, router } = await crewWith([b1]);
    const heard: { logger?: string; data: Record<string, unknown> }[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void heard.push({ logger: n.params.logger, data: n.params.data as never }));
    router.forwardLog('box1', {
      level: 'info',
      logger: 'tabcrew.status',
      data: { agent: 'Agent_2', session_id: 's-1', from: 'busy', to: 'idle', source: 'hook' },
    });
    router.forwardLog('box1', { level: 'warning', logger: 'tabcrew.permissions', data: { widget_id: 'w-perm', agent: 'Agent_2', tool: 'Bash' } });
    for (let i = 0; i < 50 && heard.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(heard).toEqual([
      { logger: 'tabcrew.status', data: { agent: 'box1/Agent_2', session_id: 's-1', from: 'busy', to: 'idle', source: 'hook', node: 'box1' } },
      { logger: 'tabcrew.permissions', data: { widget_id: 'w-perm', agent: 'box1/Agent_2', tool: 'Bash', node: 'box1' } },
    ]);
    const answer = (await client.callTool({ name: 'poke_widget', arguments: { widget_id: 'w-perm' } })) as CallToolResult;
    expect(answer.structuredContent).toEqual({ poked: 'box1', node: 'box1' });
  });

  it("a node's resources are listed under tabcrew://nodes/<node>/ and read from that node", async () => {
    const { client } = await crewWith([box1()]);
    const { resources } = await client.listResources();
    expect(resources).toContainEqual(expect.objectContaining({ uri: 'tabcrew://nodes/box1/agents/Agent_2/screen', name: 'box1: Agent_2 screen' }));
    const r = await client.readResource({ uri: 'tabcrew://nodes/box1/agents/Agent_2/screen' });
    expect(r.contents).toEqual([
      { uri: 'tabcrew://nodes/box1/agents/Agent_2/screen', mimeType: 'text/plain', text: 'screen of tabcrew://agents/Agent_2/screen on box1' },
    ]);
  });

  it("what a subscription re-reads: a node's resource from that node, a local URI left to the local reader", async () => {
    const { router } = await crewWith([box1()]);
    await expect(router.readNodeResource('tabcrew://nodes/box1/agents/Agent_2/screen')).resolves.toBe('screen of tabcrew://agents/Agent_2/screen on box1');
    expect(router.readNodeResource('tabcrew://agents/Agent_1/screen')).toBeUndefined();
    await expect(router.readNodeResource('tabcrew://nodes/box9/agents/Agent_2/screen')).rejects.toThrow(/names no node of this crew; nodes: box1/);
  });

  it('a node that never answers costs a crew-wide read its deadline: reported as timeout while the others answer', async () => {
    const { client, audit } = await crewWith([box1(), silentNode('mute')], { readTimeoutMs: 300 });
    const started = Date.now();
    const r = (await client.callTool({ name: 'list_widgets', arguments: {} })) as CallToolResult;
    const took = Date.now() - started;
    expect(took).toBeLessThan(2000);
    expect(took).toBeGreaterThanOrEqual(290);
    const out = r.structuredContent as { widgets: unknown[]; nodes: { node: string; ok: boolean; error?: string; fix?: string }[] };
    expect(out.widgets).toHaveLength(2);
    expect(out.nodes.slice(0, 2)).toEqual([
      { node: 'local', ok: true },
      { node: 'box1', ok: true },
    ]);
    expect(out.nodes[2]).toMatchObject({ node: 'mute', ok: false, error: 'timeout' });
    expect(out.nodes[2].fix).toMatch(/mute did not answer within 0\.3 s.*tabcrew doctor --node mute.*--node-read-timeout/);
    expect(audit.find((e) => (e.args as Record<string, unknown>).node === 'mute')).toMatchObject({ outcome: 'failed' });
  });

  it("a silent node's resources are left out of resources/list after the deadline", async () => {
    const { client } = await crewWith([box1(), silentNode('mute')], { readTimeoutMs: 300 });
    const started = Date.now();
    const { resources } = await client.listResources();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(resources.map((r) => r.uri)).toContain('tabcrew://nodes/box1/agents/Agent_2/screen');
  });

  it('a call to one silent node fails at its limit, saying it may still be working and what to check', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const { client } = await crewWith([silentNode('mute')]);
      const call = client.callTool({ name: 'list_widgets', arguments: { node: 'mute' } }) as Promise<CallToolResult>;
      await vi.advanceTimersByTimeAsync(NODE_READ_LIMIT_MS + 10);
      const r = await call;
      expect(r.isError).toBe(true);
      expect(JSON.stringify(r.content)).toContain('node mute: list_widgets did not answer within 15 s; it may still be working on it');
    } finally {
      vi.useRealTimers();
    }
  });

  it("a node's agent names that hold a / are shown under that node, so it cannot pass for another place's agent", async () => {
    const impostor = fakeNode('box1', (tool) => (tool === 'list_widgets' ? { widgets: [{ widget_id: 'w-x', agent: 'local/Agent_1' }] } : { poked: 'box1' }));
    const { client, localCalls } = await crewWith([impostor]);
    const r = (await client.callTool({ name: 'list_widgets', arguments: {} })) as CallToolResult;
    expect((r.structuredContent as { widgets: { agent: string }[] }).widgets.map((w) => w.agent)).toEqual(['Agent_1', 'box1/local/Agent_1']);
    await client.callTool({ name: 'poke_widget', arguments: { agent: 'box1/local/Agent_1' } });
    expect(impostor.calls.at(-1)).toEqual({ tool: 'poke_widget', args: { agent: 'local/Agent_1' } });
    localCalls.length = 0;
    await client.callTool({ name: 'poke_widget', arguments: { agent: 'Agent_1' } });
    expect(localCalls).toEqual([{ agent: 'Agent_1' }]);
  });
});
