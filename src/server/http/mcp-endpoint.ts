import { randomUUID } from 'node:crypto';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Context } from 'hono';
import { createServer } from '../server.js';
import type { ToolDeps } from '../tool-kit.js';
import { jsonBody } from './json-body.js';
import { depsFor } from './deps.js';

/** Each HTTP MCP session holds an McpServer and its streams: a bound keeps a flood of initializes from exhausting memory. */
const MAX_SESSIONS = 64;

interface Session {
  transport: WebStandardStreamableHTTPServerTransport;
  close(): void;
}

/**
 * /mcp: the SDK's Streamable HTTP transport, one McpServer per MCP session, built by the same
 * createServer as the stdio server, all over the one supervisor. The caller named in the
 * audit log is the client's own name (from initialize) with "(http)". The transport is the
 * SDK's Web-standard one (Request in, Response out), which its Node.js transport only wraps
 * with @hono/node-server: here Hono has made the Request already. The body was read (and
 * bounded) before it gets here; the transport is handed it parsed.
 */
export class McpEndpoint {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly deps: ToolDeps) {}

  get size(): number {
    return this.sessions.size;
  }

  async handle(c: Context): Promise<Response> {
    const sessionId = c.req.header('mcp-session-id');
    const parsedBody = c.req.method === 'POST' ? await jsonBody(c) : undefined;
    if (sessionId) {
      const session = this.sessions.get(sessionId);
      if (!session) return c.json(rpcError(-32001, 'Session not found: initialize again (the server restarted or the session ended).'), 404);
      return session.transport.handleRequest(c.req.raw, { parsedBody });
    }
    if (c.req.method !== 'POST' || !isInitializeRequest(parsedBody)) {
      return c.json(rpcError(-32000, 'No Mcp-Session-Id header: the first request of a session must be initialize.'), 400);
    }
    if (this.sessions.size >= MAX_SESSIONS) {
      return c.json(rpcError(-32000, `${MAX_SESSIONS} MCP sessions are open: close one (DELETE /mcp) and try again.`), 503);
    }
    const deps = depsFor(this.deps);
    const { server, close } = createServer(deps);
    deps.clientName = () => `${server.server.getClientVersion()?.name ?? 'unknown'} (http)`;
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (sid) => {
        this.sessions.set(sid, { transport, close });
        this.deps.log.info('http mcp session opened', { client: deps.clientName?.(), sessions: this.sessions.size });
      },
    });
    transport.onclose = () => {
      const sid = transport.sessionId;
      if (sid && this.sessions.delete(sid)) this.deps.log.info('http mcp session closed', { client: deps.clientName?.() });
      close();
    };
    await server.connect(transport);
    return transport.handleRequest(c.req.raw, { parsedBody });
  }

  async close(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map((s) => s.transport.close().catch(() => undefined)));
  }
}

function rpcError(code: number, message: string): unknown {
  return { jsonrpc: '2.0', error: { code, message }, id: null };
}
