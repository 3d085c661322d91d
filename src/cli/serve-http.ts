import type { Config } from '../config.js';
import type { HttpServer } from '../server/http/http-server.js';
import { parseListenAddress } from '../server/http/listen-address.js';
import { loadOrCreateToken, tokenPath } from '../server/http/token.js';
import { loadTls } from '../server/http/tls.js';
import type { ToolDeps } from '../server/tool-kit.js';

/** `serve --http`: the HTTP server beside (or instead of) stdio, over the same supervisor. Nothing here writes to stdout. */
export async function serveHttp(config: Config, deps: ToolDeps): Promise<HttpServer | undefined> {
  if (config.http === undefined) return undefined;
  const where = parseListenAddress(config.http, config.httpBind);
  const token = loadOrCreateToken(config.stateDir);
  const hosts = config.httpHosts ?? [];
  const tls = config.tls ? loadTls(config.tls, config.stateDir, [...(where.exposed ? [where.bind] : []), ...hosts]) : undefined;
  // Loaded here, not at start: the HTTP layer (hono, its Node adapter and the fetch classes it extends, the
  // dashboard's feed, prom-client) is several MB a server on stdio alone does not need (docs/performance.md).
  const { startHttp } = await import('../server/http/http-server.js');
  const http = await startHttp(deps, { bind: where.bind, port: where.port, token, stateDir: config.stateDir, tls, hosts });
  if (where.exposed && !tls) {
    process.stderr.write(
      `tabcrew: warning: --http-bind ${where.bind}: the crew is reachable from other machines (bearer token still required, but traffic is not encrypted: put TLS in front of it)\n`,
    );
  }
  process.stderr.write(
    `tabcrew: serving MCP over HTTP at ${http.url}/mcp (bearer token in ${tokenPath(config.stateDir)}; tabcrew dashboard prints a login link)\n`,
  );
  if (tls)
    process.stderr.write(`tabcrew: TLS certificate ${tls.certFile}, SHA-256 fingerprint ${tls.fingerprint} (tabcrew config http --fingerprint prints it)\n`);
  return http;
}
