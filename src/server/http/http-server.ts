import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { ToolDeps } from '../tool-kit.js';
import { BodyError, readJson, sendJson, sendUnauthorized } from './body.js';
import { removeEndpoint, writeEndpoint } from './endpoint.js';
import { LiveFeed } from './feed.js';
import { bearerOf, cookieOf, hostForm, HostCheck } from './guard.js';
import { feedAudit } from './feed-audit.js';
import { InProcessClient } from './in-process.js';
import { COOKIE, Logins } from './login.js';
import { McpEndpoint } from './mcp-endpoint.js';
import { CrewMetrics, METRICS_CALLER } from './metrics.js';
import { RefusalRecorder } from './refusals.js';
import { handleRest, sendToolResult } from './rest.js';
import { dashboardFile, securityHeaders, sendDashboardFile } from './static.js';
import { sameSecret } from './token.js';

export interface HttpOptions {
  bind: string;
  port: number;
  token: string;
  stateDir: string;
  /** Serve https with this certificate and key (--tls, --tls-cert/--tls-key). */
  tls?: { cert: Buffer; key: Buffer };
  /** More names this server is reached by (--http-host), accepted in Host and Origin. */
  hosts?: string[];
}

export interface HttpServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

type Caller = { kind: 'bearer' } | { kind: 'browser'; csrf: string };

const TOOL_NAME = /^[a-z][a-z0-9_]{0,63}$/;

const wantsStream = (req: IncomingMessage): boolean => /\btext\/event-stream\b/.test(req.headers.accept ?? '');

/**
 * `serve --http`: MCP at /mcp (bearer token), the REST mirror and the dashboard's API under
 * /api (bearer token, or the dashboard's cookie plus a CSRF token for anything that changes
 * something), the dashboard's files at / and /assets (no data in them). Every request is first
 * checked for Host and Origin.
 */
export async function startHttp(deps: ToolDeps, opts: HttpOptions): Promise<HttpServer> {
  const mcp = new McpEndpoint(deps);
  const dashboard = new InProcessClient(deps, 'dashboard (http)');
  const rest = new InProcessClient(deps, 'rest (http)');
  // The live view reads through the tools too; its own caller keeps its reads apart in the
  // audit log, where a read it repeats within minutes is not written again (feed-audit.ts).
  const feedTools = new InProcessClient(
    deps,
    'dashboard feed (http)',
    feedAudit(() => deps.audit),
  );
  const feed = new LiveFeed(deps, feedTools);
  // A scrape every 15 s reads as the feed does: recorded once in a window, not at every scrape.
  const metricsTools = new InProcessClient(
    deps,
    METRICS_CALLER,
    feedAudit(() => deps.audit),
  );
  const metrics = new CrewMetrics(deps, metricsTools);
  const logins = new Logins(opts.token);
  const refusals = new RefusalRecorder(() => deps.audit);
  const started = Date.now();
  // The real port is known once listening (--http 0 picks one).
  let hosts = new HostCheck(opts.bind, opts.port, opts.hosts);

  const authorize = (req: IncomingMessage): Caller | undefined => {
    const bearer = bearerOf(req);
    if (bearer !== undefined) return sameSecret(bearer, opts.token) ? { kind: 'bearer' } : undefined;
    const login = logins.verify(cookieOf(req, COOKIE));
    return login ? { kind: 'browser', csrf: logins.csrfFor(login) } : undefined;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const refuse = (status: 401 | 403, reason: string): void => {
      refusals.record(reason, { method: req.method, path, remote: req.socket.remoteAddress });
      deps.log.info('http request refused', { reason, method: req.method, path });
      if (status === 401) return sendUnauthorized(res);
      res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8', 'content-length': '10' });
      res.end('Forbidden\n');
    };
    const wrongHost = hosts.refuse(req);
    if (wrongHost) return refuse(403, wrongHost);

    if (req.method === 'GET' && dashboardFile(path)) return sendDashboardFile(res, dashboardFile(path)!);
    if (req.method === 'GET' && path === '/login') {
      const cookie = logins.redeem(url.searchParams);
      if (!cookie) {
        refusals.record('login link invalid, expired or already used', { method: req.method, path, remote: req.socket.remoteAddress });
        res.writeHead(401, { 'content-type': 'text/html; charset=utf-8', ...securityHeaders() });
        res.end(
          '<!doctype html><title>tabcrew</title><p>This login link is expired or was used already. Run <code>tabcrew dashboard</code> for a new one.</p>\n',
        );
        return;
      }
      // A page, not a redirect: the cookie is SameSite=Strict, and the next request must be
      // one this origin makes for it to be sent whatever opened the link.
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'set-cookie': logins.setCookie(cookie), ...securityHeaders() });
      res.end('<!doctype html><meta http-equiv="refresh" content="0; url=/"><title>tabcrew</title><p>Logged in. <a href="/">Open the dashboard</a>.</p>\n');
      return;
    }

    if (path === '/metrics' && req.method === 'GET') {
      if (bearerOf(req) === undefined || authorize(req)?.kind !== 'bearer') return refuse(401, 'missing or wrong bearer token on /metrics');
      return metrics.handle(res);
    }
    if (path === '/mcp') {
      if (bearerOf(req) === undefined || authorize(req)?.kind !== 'bearer') return refuse(401, 'missing or wrong bearer token on /mcp');
      return mcp.handle(req, res);
    }
    if (!path.startsWith('/api/')) return sendJson(res, 404, { error: `no such page: ${path}` });

    const caller = authorize(req);
    if (!caller) return refuse(401, 'missing or wrong bearer token or dashboard cookie');
    if (req.method !== 'GET' && caller.kind === 'browser') {
      const given = req.headers['x-csrf-token'];
      if (typeof given !== 'string' || !sameSecret(given, caller.csrf)) return refuse(403, 'missing or wrong CSRF token');
    }

    if (req.method === 'GET') {
      if (path === '/api/dashboard/session') {
        return sendJson(res, 200, { csrf: caller.kind === 'browser' ? caller.csrf : null });
      }
      if (path === '/api/events') return feed.add(res);
      // The page's EventSource asks for a stream; a script gets the screen once (rest.ts).
      let m = /^\/api\/agents\/([^/]+)\/screen$/.exec(path);
      if (m && wantsStream(req)) return feed.screen(res, decodeURIComponent(m[1]));
      m = /^\/api\/agents\/([^/]+)\/transcript$/.exec(path);
      if (m) {
        const text = await dashboard.readResource(`tabcrew://agents/${encodeURIComponent(decodeURIComponent(m[1]))}/transcript`);
        return sendJson(res, 200, JSON.parse(text || '{}'));
      }
      if (path === '/api/tools') {
        const tools = await dashboard.listTools();
        return sendJson(res, 200, { tools: tools.map((t) => ({ name: t.name, title: t.title, inputSchema: t.inputSchema })) });
      }
      if (await handleRest(path, res, rest, () => ({ uptime_s: Math.round((Date.now() - started) / 1000), http_mcp_sessions: mcp.size }), url.searchParams))
        return;
    }
    const tool = /^\/api\/tools\/([^/]+)$/.exec(path);
    if (req.method === 'POST' && tool) {
      const name = decodeURIComponent(tool[1]);
      if (!TOOL_NAME.test(name)) return sendJson(res, 400, { error: `"${name.slice(0, 80)}" is not a tool name.` });
      const body = (await readJson(req)) as { arguments?: unknown } | undefined;
      const args = body?.arguments ?? {};
      if (typeof args !== 'object' || args === null || Array.isArray(args)) return sendJson(res, 400, { error: 'arguments must be a JSON object.' });
      const known = (await dashboard.listTools()).some((t) => t.name === name);
      if (!known) return sendJson(res, 404, { error: `${name} is not available in this tabcrew.`, unavailable: true });
      const result = await dashboard.callTool(name, args as Record<string, unknown>);
      if (caller.kind === 'browser') return sendJson(res, 200, result);
      return sendToolResult(res, result);
    }
    sendJson(res, 404, { error: `no such route: ${req.method} ${path}` });
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((e: Error) => {
      if (e instanceof BodyError) return sendJson(res, e.status, { error: e.message });
      deps.log.error('http request failed', { path: req.url?.split('?')[0], error: e.message, stack: e.stack });
      if (!res.headersSent) sendJson(res, 500, { error: `tabcrew could not answer: ${e.message}` });
      else res.end();
    });
  };
  const server = opts.tls ? createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }, onRequest) : createHttpServer(onRequest);
  // Streams (SSE, MCP's GET) stay open for as long as the page or client wants.
  server.requestTimeout = 0;
  server.headersTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.bind, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  hosts = new HostCheck(opts.bind, port, opts.hosts);
  const shown = opts.bind === '0.0.0.0' || opts.bind === '::' ? '127.0.0.1' : hostForm(opts.bind);
  const url = `${opts.tls ? 'https' : 'http'}://${shown}:${port}`;
  writeEndpoint(opts.stateDir, { url, pid: process.pid });
  return {
    url,
    port,
    async close() {
      removeEndpoint(opts.stateDir, process.pid);
      feed.close();
      metrics.close();
      refusals.stop();
      await Promise.all([mcp.close(), dashboard.close(), rest.close(), feedTools.close(), metricsTools.close()]);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
