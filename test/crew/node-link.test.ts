import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { createLogger } from '../../src/audit/logger.js';
import { NodeLink, NodeTimeoutError } from '../../src/crew/node-link.js';
import { CrewRouter } from '../../src/crew/router.js';
import { route } from '../../src/server/routing.js';
import { localWith } from './fake-crew.js';
import { version } from '../../src/version.js';

/**
 * A node whose tabcrew completes the MCP handshake and then never answers a call: "ssh" here
 * is a script that ignores its argv and runs that server on stdio.
 */
const dir = mkdtempSync(join(tmpdir(), 'tabcrew-silent-node-'));
const sdk = resolve('node_modules/@modelcontextprotocol/sdk/dist/esm');
const server = join(dir, 'silent-server.mjs');
writeFileSync(
  server,
  `import { McpServer } from '${sdk}/server/mcp.js';
import { StdioServerTransport } from '${sdk}/server/stdio.js';
const s = new McpServer({ name: 'tabcrew', version: ${JSON.stringify(version)} });
s.registerTool('list_sessions', { description: 'never answers' }, () => new Promise(() => {}));
await s.connect(new StdioServerTransport());
`,
);
const ssh = join(dir, 'ssh');
writeFileSync(ssh, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(server)}\n`);
chmodSync(ssh, 0o755);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a link to a node that never answers', () => {
  it('gives a call up at its limit with a timeout error, instead of waiting an hour', async () => {
    const link = new NodeLink({ name: 'mute', host: 'mute' } as never, { ssh: { ssh, controlDir: dir }, frontVersion: version, reconnect: false });
    await link.connect();
    try {
      expect(link.report()).toMatchObject({ state: 'up' });
      const started = Date.now();
      const err = await link.call('list_sessions', {}, { timeoutMs: 400 }).catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(3000);
      expect(err).toBeInstanceOf(NodeTimeoutError);
      expect((err as Error).message).toBe('node mute: list_sessions did not answer within 0.4 s');
      // The link stays up: a slow call is not a dropped connection.
      expect(link.state).toBe('up');
    } finally {
      await link.close();
    }
  });
});

describe('the red-team silent node, behind a front', () => {
  it('costs list_sessions at most its deadline: the local answer comes back with the node reported as timeout', async () => {
    const link = new NodeLink({ name: 'mute', host: 'mute' } as never, { ssh: { ssh, controlDir: dir }, frontVersion: version, reconnect: false });
    await link.connect();
    const log = createLogger(join(dir, 'log'));
    const router = new CrewRouter({ links: new Map([['mute', link]]), log, store: () => undefined, local: localWith(), readTimeoutMs: 500 });
    const server = new McpServer({ name: 'tabcrew', version });
    router.wrap(server, { log });
    server.registerTool(
      'list_sessions',
      { inputSchema: {}, annotations: { readOnlyHint: true }, ...route({ targets: {}, untargeted: 'crew', sessions: 'lists' }) },
      async () => ({ content: [{ type: 'text', text: '{}' }], structuredContent: { sessions: [{ session_id: 's-1', name: 'here', root: '/', agents: [] }] } }),
    );
    const [a, b] = InMemoryTransport.createLinkedPair();
    await server.connect(a);
    const client = new Client({ name: 't', version: '1' });
    await client.connect(b);
    try {
      const started = Date.now();
      const r = await client.callTool({ name: 'list_sessions', arguments: {} });
      expect(Date.now() - started).toBeLessThan(2500);
      expect(r.structuredContent).toMatchObject({
        sessions: [{ name: 'here', node: 'local' }],
        nodes: [
          { node: 'local', ok: true },
          { node: 'mute', ok: false, error: 'timeout' },
        ],
      });
    } finally {
      await client.close();
      await link.close();
    }
  });
});
