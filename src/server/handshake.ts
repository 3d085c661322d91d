import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { LATEST_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { silentLogger } from '../audit/logger.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import { createServer } from './server.js';

/**
 * What the real server answers to `initialize` and `tools/list`, for the build to embed in
 * dist/cli.js: the entry answers an MCP client's handshake from it while the bundle loads
 * (scripts/cli-entry.mjs), and the full server checks each of those answers against its own
 * when it takes over (handover-transport.ts). Neither answer reads the state or the config.
 */
export interface HandshakeAnswers {
  /** The initialize result for LATEST; the entry puts the negotiated version in. */
  initialize: Record<string, unknown>;
  tools: Record<string, unknown>;
  /** The SDK's rule: a supported requested version is echoed, anything else gets the latest. */
  supportedProtocolVersions: string[];
  latestProtocolVersion: string;
}

export async function handshakeAnswers(): Promise<HandshakeAnswers> {
  const { server, close } = createServer({
    log: silentLogger,
    // Never opens: no handler that needs the state can run here.
    ready: new Promise<void>(() => undefined),
    get supervisor(): Supervisor {
      throw new Error('handshakeAnswers: the handshake must not need the state');
    },
  });
  const [client, serverSide] = InMemoryTransport.createLinkedPair();
  const answers = new Map<number, Record<string, unknown>>();
  client.onmessage = (m: JSONRPCMessage) => {
    if ('id' in m && 'result' in m) answers.set(Number(m.id), m.result);
  };
  await server.connect(serverSide);
  await client.start();
  await client.send({
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'tabcrew-build', version: '0' } },
  });
  await client.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  await client.send({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
  for (let i = 0; i < 100 && answers.size < 2; i++) await new Promise((r) => setTimeout(r, 10));
  close();
  await server.close();
  if (!answers.has(1) || !answers.has(2)) throw new Error('handshakeAnswers: the server did not answer initialize and tools/list');
  return {
    initialize: answers.get(1)!,
    tools: answers.get(2)!,
    supportedProtocolVersions: [...SUPPORTED_PROTOCOL_VERSIONS],
    latestProtocolVersion: LATEST_PROTOCOL_VERSION,
  };
}
