import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { createServer } from '../server.js';
import type { ToolDeps } from '../tool-kit.js';
import { readJson, sendJson } from './body.js';
import { depsFor } from './deps.js';

/** Each HTTP MCP session holds an McpServer and its streams: a bound keeps a flood of initializes from exhausting memory. */
const MAX_SESSIONS = 64;

interface Session {
  transport: StreamableHTTPServerTransport;
  close(): void;
}

/**
 * /mcp: the SDK's Streamable HTTP transport, one McpServer per MCP session, built by the same
 * createServer as the stdio server, all over the one supervisor. The caller named in the
 * audit log is the client's own name (from initialize) with "(http)".
 */
export class McpEndpoint {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly deps: ToolDeps) {}

  get size(): number {
    return this.sessions.size;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const id = req.headers['mcp-session-id'];
    const sessionId = Array.isArray(id) ? id[0] : id;
    const body = req.method === 'POST' ? await readJson(req) : undefined;
    if (sessionId) {
      const session = this.sessions.get(sessionId);
      if (!session) return sendJson(res, 404, rpcError(-32001, 'Session not found: initialize again (the server restarted or the session ended).'));
      return session.transport.handleRequest(req, res, body);
    }
    if (req.method !== 'POST' || !isInitializeRequest(body)) {
      return sendJson(res, 400, rpcError(-32000, 'No Mcp-Session-Id header: the first request of a session must be initialize.'));
    }
    if (this.sessions.size >= MAX_SESSIONS) {
      return sendJson(res, 503, rpcError(-32000, `${MAX_SESSIONS} MCP sessions are open: close one (DELETE /mcp) and try again.`));
    }
    const deps = depsFor(this.deps);
    const { server, close } = createServer(deps);
    deps.clientName = () => `${server.server.getClientVersion()?.name ?? 'unknown'} (http)`;
    const transport = new StreamableHTTPServerTransport({
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
    await transport.handleRequest(req, res, body);
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
