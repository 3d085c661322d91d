import type { HttpBindings } from '@hono/node-server';
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { getCookie, setCookie } from 'hono/cookie';
import { HTTPException } from 'hono/http-exception';
import type { Logger } from '../../audit/logger.js';
import type { CrewMetrics } from './metrics.js';
import type { LiveFeed } from './feed.js';
import { bearerOf, type HostCheck } from './guard.js';
import type { InProcessClient } from './in-process.js';
import { jsonBody, MAX_BODY } from './json-body.js';
import { COOKIE, COOKIE_OPTIONS, type Logins } from './login.js';
import type { McpEndpoint } from './mcp-endpoint.js';
import type { RefusalRecorder } from './refusals.js';
import { restRoutes, toolResponse } from './rest.js';
import { dashboardFiles, dashboardHeaders, securityHeaders } from './static.js';
import { sameSecret } from './token.js';

type Caller = { kind: 'bearer' } | { kind: 'browser'; csrf: string };
type Env = { Bindings: Partial<HttpBindings>; Variables: { caller: Caller } };

/** What the routes answer with: built by startHttp, each the owner of its own question. */
export interface AppParts {
  token: string;
  /** The names this server is reached by (known once it listens: --http 0 picks the port). */
  hosts: () => HostCheck;
  logins: Logins;
  refusals: RefusalRecorder;
  log: Logger;
  mcp: McpEndpoint;
  /** The dashboard's tool calls (audit caller "dashboard (http)"). */
  dashboard: Pick<InProcessClient, 'callTool' | 'listTools' | 'readResource'>;
  /** The REST mirror's (audit caller "rest (http)"). */
  rest: Pick<InProcessClient, 'callTool'>;
  feed: Pick<LiveFeed, 'add' | 'screen'>;
  metrics: Pick<CrewMetrics, 'scrape' | 'contentType'>;
  health: () => Record<string, unknown>;
  files?: ReturnType<typeof dashboardFiles>;
}

const TOOL_NAME = /^[a-z][a-z0-9_]{0,63}$/;

const EXPIRED_PAGE =
  '<!doctype html><title>tabcrew</title><p>This login link is expired or was used already. Run <code>tabcrew dashboard</code> for a new one.</p>\n';
const LOGGED_IN_PAGE =
  '<!doctype html><meta http-equiv="refresh" content="0; url=/"><title>tabcrew</title><p>Logged in. <a href="/">Open the dashboard</a>.</p>\n';

/**
 * `serve --http`'s routes and the policy in front of them, in the order it applies:
 * every request is first checked for Host and Origin (DNS rebinding), before anything else,
 * static files included; then the dashboard's files (no data in them) and the one-time login
 * link need nothing more; /mcp and /metrics need the bearer token; /api needs the token or
 * the dashboard's cookie, plus the CSRF token for a browser's request that is not a GET.
 * Bodies over MAX_BODY get 413 before they are read. Refusals tell the client nothing, and
 * go to the audit log (refusals.ts). A path no route knows is a 404 that repeats nothing of it.
 */
export function httpApp(p: AppParts): Hono<Env> {
  const app = new Hono<Env>();
  const files = p.files ?? dashboardFiles();

  const refuse = (c: Context<Env>, status: 401 | 403, reason: string): Response => {
    const path = c.req.path;
    p.refusals.record(reason, { method: c.req.method, path, remote: c.env?.incoming?.socket.remoteAddress });
    p.log.info('http request refused', { reason, method: c.req.method, path });
    // A refusal that tells a caller without the token nothing: no body, no reason.
    if (status === 401) return c.body(null, 401, { 'www-authenticate': 'Bearer', 'cache-control': 'no-store' });
    return c.text('Forbidden\n', 403);
  };
  const authorize = (c: Context<Env>): Caller | undefined => {
    const bearer = bearerOf(c.req.header('authorization'));
    if (bearer !== undefined) return sameSecret(bearer, p.token) ? { kind: 'bearer' } : undefined;
    const login = p.logins.verify(getCookie(c, COOKIE));
    return login ? { kind: 'browser', csrf: p.logins.csrfFor(login) } : undefined;
  };
  const bearerOnly =
    (what: string): MiddlewareHandler<Env> =>
    async (c, next) => {
      if (authorize(c)?.kind !== 'bearer') return refuse(c, 401, `missing or wrong bearer token on ${what}`);
      await next();
    };
  const limited = bodyLimit({ maxSize: MAX_BODY, onError: (c) => c.json({ error: `the request body is over ${MAX_BODY} bytes` }, 413) });

  app.use('*', async (c, next) => {
    const wrongHost = p.hosts().refuse(c.req.header('host'), c.req.header('origin'));
    if (wrongHost) return refuse(c, 403, wrongHost);
    await next();
  });

  app.get('/', dashboardHeaders, files.page, (c) => c.text('The dashboard is not built: run npm run build where tabcrew is installed.\n', 404));
  app.get('/assets/*', dashboardHeaders, files.assets);
  app.get('/login', (c) => {
    const cookie = p.logins.redeem(new URL(c.req.url).searchParams);
    if (!cookie) {
      p.refusals.record('login link invalid, expired or already used', {
        method: c.req.method,
        path: c.req.path,
        remote: c.env?.incoming?.socket.remoteAddress,
      });
      return c.html(EXPIRED_PAGE, 401, securityHeaders());
    }
    // A page, not a redirect: the cookie is SameSite=Strict, and the next request must be
    // one this origin makes for it to be sent whatever opened the link.
    setCookie(c, COOKIE, cookie, COOKIE_OPTIONS);
    return c.html(LOGGED_IN_PAGE, 200, securityHeaders());
  });

  app.get('/metrics', bearerOnly('/metrics'), async (c) =>
    c.body(await p.metrics.scrape(), 200, { 'content-type': p.metrics.contentType, 'cache-control': 'no-store' }),
  );
  app.all('/mcp', bearerOnly('/mcp'), limited, (c) => p.mcp.handle(c));

  app.use('/api/*', async (c, next) => {
    const caller = authorize(c);
    if (!caller) return refuse(c, 401, 'missing or wrong bearer token or dashboard cookie');
    if (c.req.method !== 'GET' && caller.kind === 'browser') {
      const given = c.req.header('x-csrf-token');
      if (given === undefined || !sameSecret(given, caller.csrf)) return refuse(c, 403, 'missing or wrong CSRF token');
    }
    c.set('caller', caller);
    c.header('cache-control', 'no-store');
    await next();
  });
  app.use('/api/*', limited);
  app.get('/api/dashboard/session', (c) => {
    const caller = c.get('caller');
    return c.json({ csrf: caller.kind === 'browser' ? caller.csrf : null });
  });
  app.get('/api/events', (c) => p.feed.add(c));
  // The page's EventSource asks for a stream; a script gets the screen once (rest.ts).
  app.get('/api/agents/:name/screen', async (c, next) => {
    if (/\btext\/event-stream\b/.test(c.req.header('accept') ?? '')) return p.feed.screen(c, c.req.param('name'));
    await next();
  });
  app.get('/api/agents/:name/transcript', async (c) => {
    const text = await p.dashboard.readResource(`tabcrew://agents/${encodeURIComponent(c.req.param('name'))}/transcript`);
    return c.json(JSON.parse(text || '{}'));
  });
  app.get('/api/tools', async (c) => {
    const tools = await p.dashboard.listTools();
    return c.json({ tools: tools.map((t) => ({ name: t.name, title: t.title, inputSchema: t.inputSchema })) });
  });
  app.post('/api/tools/:name', async (c) => {
    const name = c.req.param('name');
    if (!TOOL_NAME.test(name)) return c.json({ error: 'not a tool name: tool names are lowercase letters, digits and _ (at most 64).' }, 400);
    const body = (await jsonBody(c)) as { arguments?: unknown } | undefined;
    const args = body?.arguments ?? {};
    if (typeof args !== 'object' || args === null || Array.isArray(args)) return c.json({ error: 'arguments must be a JSON object.' }, 400);
    const known = (await p.dashboard.listTools()).some((t) => t.name === name);
    if (!known) return c.json({ error: `${name} is not available in this tabcrew.`, unavailable: true }, 404);
    const result = await p.dashboard.callTool(name, args as Record<string, unknown>);
    return c.get('caller').kind === 'browser' ? c.json(result) : toolResponse(c, result);
  });
  app.route('/api', restRoutes(p.rest, p.health));

  app.notFound((c) => c.json({ error: 'no such page or route: docs/http.md lists them.' }, 404, { 'cache-control': 'no-store' }));
  app.onError((e, c) => {
    if (e instanceof HTTPException) return e.getResponse();
    p.log.error('http request failed', { path: c.req.path, error: e.message, stack: e.stack });
    return c.json({ error: `tabcrew could not answer: ${e.message}` }, 500, { 'cache-control': 'no-store' });
  });
  return app;
}
