import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import type { ToolDeps } from '../tool-kit.js';
import { httpApp } from './app.js';
import { removeEndpoint, writeEndpoint } from './endpoint.js';
import { LiveFeed } from './feed.js';
import { hostForm, HostCheck } from './guard.js';
import { feedAudit } from './feed-audit.js';
import { InProcessClient } from './in-process.js';
import { Logins } from './login.js';
import { McpEndpoint } from './mcp-endpoint.js';
import { CrewMetrics, METRICS_CALLER } from './metrics.js';
import { RefusalRecorder } from './refusals.js';

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

/**
 * `serve --http`: MCP at /mcp (bearer token), the REST mirror and the dashboard's API under
 * /api (bearer token, or the dashboard's cookie plus a CSRF token for anything that changes
 * something), the dashboard's files at / and /assets (no data in them); the routes and their
 * checks are app.ts. Served over http, or https with the given certificate.
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

  const app = httpApp({
    token: opts.token,
    hosts: () => hosts,
    logins,
    refusals,
    log: deps.log,
    mcp,
    dashboard,
    rest,
    feed,
    metrics,
    health: () => ({ uptime_s: Math.round((Date.now() - started) / 1000), http_mcp_sessions: mcp.size }),
  });
  // Hono on Node's own http/https server: the adapter turns each request into a Request and
  // writes the Response back, streams included. The global Request and Response stay Node's
  // own: this process is also a fetch client (node links, the SDK).
  const onRequest = getRequestListener(app.fetch, { overrideGlobalObjects: false });
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
