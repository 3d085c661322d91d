import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Logger } from '../../src/audit/logger.js';
import { createServer } from '../../src/server/server.js';
import type { ToolDeps } from '../../src/server/tool-kit.js';

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined } as unknown as Logger;
const never = () => () => undefined;
const supervisor = { onStatusChange: never, onPermissionRequest: never, onNotice: never };

/** tabcrew's MCP server with one more tool whose output schema counts the times it is parsed. */
async function serverWithCountingTool() {
  const { server, close } = createServer({ supervisor, log: quiet } as unknown as ToolDeps);
  let parsed = 0;
  server.registerTool(
    'counted',
    {
      description: 'a result whose schema counts its parses',
      outputSchema: { n: z.number().refine(() => ++parsed > 0) },
    },
    async () => ({ content: [{ type: 'text', text: '{"n":1}' }], structuredContent: { n: 1 } }),
  );
  const [a, b] = InMemoryTransport.createLinkedPair();
  await server.connect(a);
  const client = new Client({ name: 't', version: '1' });
  await client.connect(b);
  return { client, parses: () => parsed, close: async () => (await client.close(), close()) };
}

describe("the server's tool results", () => {
  it('are sent as the tool made them, not parsed against their output schema again by the server', async () => {
    const s = await serverWithCountingTool();
    const r = (await s.client.callTool({ name: 'counted', arguments: {} })) as CallToolResult;
    expect(r.structuredContent).toEqual({ n: 1 });
    expect(s.parses()).toBe(0);
    await s.close();
  });

  it('are still checked against the listed schema by a client that listed the tools', async () => {
    const { server, close } = createServer({ supervisor, log: quiet } as unknown as ToolDeps);
    server.registerTool('off_schema', { description: 'a result that breaks its schema', outputSchema: { n: z.number() } }, async () => ({
      content: [{ type: 'text', text: '{"n":"one"}' }],
      structuredContent: { n: 'one' },
    }));
    const [a, b] = InMemoryTransport.createLinkedPair();
    await server.connect(a);
    const client = new Client({ name: 't', version: '1' });
    await client.connect(b);
    await client.listTools();
    await expect(client.callTool({ name: 'off_schema', arguments: {} })).rejects.toThrow(/output schema/i);
    await client.close();
    close();
  });
});
