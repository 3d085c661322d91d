import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Context } from 'hono';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/audit/logger.js';
import { httpApp, type AppParts } from '../../src/server/http/app.js';
import { HostCheck } from '../../src/server/http/guard.js';
import { MAX_BODY } from '../../src/server/http/json-body.js';
import { COOKIE, loginQuery, Logins } from '../../src/server/http/login.js';
import type { McpEndpoint } from '../../src/server/http/mcp-endpoint.js';
import { RefusalRecorder } from '../../src/server/http/refusals.js';
import { dashboardFiles } from '../../src/server/http/static.js';

/**
 * The policy in front of every route of `serve --http` (app.ts), asked through Hono's own
 * app.request with the collaborators faked: Host and Origin before anything else, the token,
 * the cookie and its CSRF token, 413, the one-time login, the dashboard's files, and 404s
 * that repeat nothing of what was asked.
 */
const TOKEN = `tc_${'t'.repeat(43)}`;
const HOST = '127.0.0.1:8787';
const files = mkdtempSync(join(tmpdir(), 'tabcrew-http-app-'));
mkdirSync(files, { recursive: true });
writeFileSync(join(files, 'index.html'), '<!doctype html><title>tabcrew</title>');
writeFileSync(join(files, 'app.js'), 'export {};');
writeFileSync(join(files, 'app.css'), 'body {}');
// Beside the dashboard's directory: what a path trick would reach.
writeFileSync(join(files, '..', 'tabcrew-http-app-secret.txt'), 'SECRET');

function world() {
  const refused: Record<string, unknown>[] = [];
  const calls: string[] = [];
  const ok = (v: unknown): CallToolResult => ({ content: [], structuredContent: v as Record<string, unknown> });
  const parts: AppParts = {
    token: TOKEN,
    hosts: () => new HostCheck('127.0.0.1', 8787),
    logins: new Logins(TOKEN),
    refusals: new RefusalRecorder(() => ({ append: async (e) => (refused.push(e as never), {} as never) })),
    log: silentLogger,
    mcp: { handle: async (c: Context) => (calls.push('mcp'), c.json({ mcp: true })) } as unknown as McpEndpoint,
    dashboard: {
      callTool: async (name) => (calls.push(name), ok({ ran: name })),
      listTools: async () => [{ name: 'get_agent_output', inputSchema: { type: 'object' } }],
      readResource: async () => '{}',
    },
    rest: { callTool: async (name) => (calls.push(name), ok({ sessions: [] })) },
    feed: { add: (c) => (calls.push('feed'), c.text('feed')), screen: (c) => c.text('screen') },
    metrics: { scrape: async () => (calls.push('metrics'), '# metrics\n'), contentType: 'text/plain; version=0.0.4; charset=utf-8' },
    health: () => ({}),
    files: dashboardFiles(files),
  };
  const app = httpApp(parts);
  const ask = (path: string, init: RequestInit & { headers?: Record<string, string> } = {}) =>
    app.request(path, { ...init, headers: { host: HOST, ...init.headers } });
  return { app, ask, refused, calls, logins: parts.logins };
}

const bearer = { authorization: `Bearer ${TOKEN}` };
const json = (v: unknown) => ({ method: 'POST', body: JSON.stringify(v), headers: { 'content-type': 'application/json' } });

/** Every route there is, as a request with the bearer token. */
const ROUTES: [string, string][] = [
  ['GET', '/'],
  ['GET', '/assets/app.js'],
  ['GET', '/login?n=x&e=1&s=y'],
  ['GET', '/metrics'],
  ['POST', '/mcp'],
  ['GET', '/api/health'],
  ['GET', '/api/sessions'],
  ['GET', '/api/events'],
  ['GET', '/api/agents/Agent_1/screen'],
  ['POST', '/api/tools/get_agent_output'],
  ['GET', '/nowhere'],
];

describe('serve --http: Host and Origin', () => {
  it('a wrong Host is refused with 403 before authentication, on every route, static files and /metrics included', async () => {
    const w = world();
    for (const [method, path] of ROUTES) {
      for (const headers of [{ ...bearer, host: 'evil.example.com:8787' }, { host: 'evil.example.com:8787' }, { ...bearer, host: '127.0.0.1:9999' }]) {
        const r = await w.ask(path, { method, headers, ...(method === 'POST' ? { body: '{}' } : {}) });
        expect(r.status, `${method} ${path} ${JSON.stringify(headers)}`).toBe(403);
        expect(await r.text()).toBe('Forbidden\n');
      }
    }
    expect(w.calls).toEqual([]);
    expect(w.refused[0]).toMatchObject({ type: 'refusal', what: 'http_request', reason: 'Host "evil.example.com:8787" is not this server' });
  });

  it('a wrong Origin is refused with 403 before authentication, on every route', async () => {
    const w = world();
    for (const [method, path] of ROUTES) {
      for (const headers of [{ ...bearer, origin: 'http://evil.example.com' }, { origin: 'http://127.0.0.1:9999' }]) {
        const r = await w.ask(path, { method, headers, ...(method === 'POST' ? { body: '{}' } : {}) });
        expect(r.status, `${method} ${path} ${JSON.stringify(headers)}`).toBe(403);
      }
    }
    expect(w.calls).toEqual([]);
    // This server's own origin goes through.
    expect((await w.ask('/api/health', { headers: { ...bearer, origin: `http://${HOST}` } })).status).toBe(200);
  });
});

describe('serve --http: the token', () => {
  it('/mcp, /metrics and /api without the token or with a wrong one get 401 with no body and no reason', async () => {
    const w = world();
    for (const [method, path] of ROUTES.filter(([, p]) => /^\/(mcp|metrics|api)/.test(p))) {
      for (const headers of [{}, { authorization: 'Bearer tc_wrong' }, { authorization: TOKEN }]) {
        const r = await w.ask(path, { method, headers });
        expect(r.status, `${method} ${path}`).toBe(401);
        expect(r.headers.get('www-authenticate')).toBe('Bearer');
        expect(await r.text()).toBe('');
      }
    }
    expect(w.calls).toEqual([]);
  });

  it('the dashboard cookie opens /api but not /mcp or /metrics', async () => {
    const w = world();
    const cookie = `${COOKIE}=${w.logins.redeem(new URLSearchParams(loginQuery(TOKEN)))}`;
    expect((await w.ask('/api/health', { headers: { cookie } })).status).toBe(200);
    expect((await w.ask('/metrics', { headers: { cookie } })).status).toBe(401);
    expect((await w.ask('/mcp', { method: 'POST', body: '{}', headers: { cookie } })).status).toBe(401);
    expect(w.calls).toEqual([]);
  });

  it('/metrics with the token answers the scrape in the text format', async () => {
    const w = world();
    const r = await w.ask('/metrics', { headers: bearer });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    expect(await r.text()).toBe('# metrics\n');
  });
});

describe('serve --http: the one-time login and CSRF', () => {
  it('a login link logs in once: an HttpOnly, SameSite=Strict cookie, then 401 for the same link', async () => {
    const w = world();
    const q = loginQuery(TOKEN);
    const first = await w.ask(`/login?${q}`);
    expect(first.status).toBe(200);
    const set = first.headers.get('set-cookie') ?? '';
    expect(set).toMatch(new RegExp(`^${COOKIE}=[A-Za-z0-9_-]{24}\\.[A-Za-z0-9_-]{43};`));
    expect(set).toContain('HttpOnly');
    expect(set).toContain('SameSite=Strict');
    expect(set).toContain('Path=/');
    expect(first.headers.get('content-security-policy')).toContain("default-src 'none'");
    const again = await w.ask(`/login?${q}`);
    expect(again.status).toBe(401);
    expect(again.headers.get('set-cookie')).toBeNull();
    // The cookie it set is a login.
    const cookie = set.split(';')[0];
    expect(await (await w.ask('/api/dashboard/session', { headers: { cookie } })).json()).toMatchObject({ csrf: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
  });

  it('with the cookie, every request that is not a GET needs the CSRF token: 403 without it or with a wrong one, before any route', async () => {
    const w = world();
    const cookie = `${COOKIE}=${w.logins.redeem(new URLSearchParams(loginQuery(TOKEN)))}`;
    const { csrf } = (await (await w.ask('/api/dashboard/session', { headers: { cookie } })).json()) as { csrf: string };
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      for (const path of ['/api/tools/get_agent_output', '/api/sessions/s-1', '/api/nowhere']) {
        for (const extra of [{}, { 'x-csrf-token': 'wrong' }, { 'x-csrf-token': TOKEN }]) {
          const r = await w.ask(path, { method, body: JSON.stringify({ arguments: {} }), headers: { cookie, 'content-type': 'application/json', ...extra } });
          expect(r.status, `${method} ${path} ${JSON.stringify(extra)}`).toBe(403);
        }
      }
    }
    expect(w.calls).toEqual([]);
    const r = await w.ask('/api/tools/get_agent_output', { ...json({ arguments: { agent: 'Agent_1' } }), headers: { cookie, 'x-csrf-token': csrf } });
    expect(r.status).toBe(200);
    expect(w.calls).toEqual(['get_agent_output']);
    // The bearer token is no browser's: it needs no CSRF token.
    expect((await w.ask('/api/tools/get_agent_output', { ...json({ arguments: {} }), headers: bearer })).status).toBe(200);
  });
});

describe('serve --http: bodies', () => {
  it('a body over the limit gets 413 on /mcp and /api, and reaches no route', async () => {
    const w = world();
    const big = 'x'.repeat(MAX_BODY + 1);
    for (const path of ['/mcp', '/api/tools/get_agent_output']) {
      const r = await w.ask(path, { method: 'POST', body: big, headers: { ...bearer, 'content-type': 'application/json' } });
      expect(r.status, path).toBe(413);
      expect(await r.json()).toEqual({ error: `the request body is over ${MAX_BODY} bytes` });
    }
    expect(w.calls).toEqual([]);
  });

  it('a body that is not JSON, or arguments that are not an object, get 400 saying so', async () => {
    const w = world();
    const bad = await w.ask('/api/tools/get_agent_output', { method: 'POST', body: '{nope', headers: bearer });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toMatch(/^the request body is not JSON/);
    const notObject = await w.ask('/api/tools/get_agent_output', { ...json({ arguments: [1] }), headers: bearer });
    expect(notObject.status).toBe(400);
    expect(w.calls).toEqual([]);
  });
});

describe('serve --http: what is not there', () => {
  it('an unknown path is a 404 that repeats nothing of it, with or without the token', async () => {
    const w = world();
    const probe = '<script>alert(1)</script>';
    for (const [path, headers] of [
      [`/${probe}`, {}],
      [`/api/${probe}`, bearer],
      [`/api/agents/a/b/c/${probe}`, bearer],
      [`/assets/${probe}`, {}],
      [`/metrics/${probe}`, bearer],
    ] as const) {
      const r = await w.ask(path, { headers });
      expect(r.status, path).toBe(404);
      const body = await r.text();
      expect(body).not.toContain('script');
      expect(body).not.toContain('alert');
    }
  });

  it('a tool name that is not one is refused without repeating it', async () => {
    const w = world();
    const r = await w.ask(`/api/tools/${encodeURIComponent('<b>X</b>')}`, { ...json({}), headers: bearer });
    expect(r.status).toBe(400);
    expect(await r.text()).not.toContain('<b>');
    const unknown = await w.ask('/api/tools/no_such_tool', { ...json({}), headers: bearer });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ unavailable: true });
  });
});

describe("serve --http: the dashboard's files", () => {
  it('the page at / and its files under /assets/, with the Content-Security-Policy and nothing cached stale', async () => {
    const w = world();
    const page = await w.ask('/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    const js = await w.ask('/assets/app.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(js.headers.get('x-frame-options')).toBe('DENY');
    expect(await js.text()).toBe('export {};');
    expect((await w.ask('/assets/app.css')).headers.get('content-type')).toMatch(/^text\/css/);
  });

  it('names every object inherits (constructor, __proto__, toString), dot segments and encoded separators find nothing: a plain 404', async () => {
    const w = world();
    for (const path of [
      '/assets/constructor',
      '/assets/__proto__',
      '/assets/toString',
      '/assets/hasOwnProperty',
      '/assets/../tabcrew-http-app-secret.txt',
      '/assets/%2e%2e/tabcrew-http-app-secret.txt',
      '/assets/..%2ftabcrew-http-app-secret.txt',
      '/assets/..%5ctabcrew-http-app-secret.txt',
      '/assets//etc/passwd',
      '/app.js',
      '/index.html',
    ]) {
      const r = await w.ask(path);
      expect(r.status, path).toBe(404);
      const body = await r.text();
      expect(body, path).not.toContain('SECRET');
      expect(body, path).not.toContain(files);
    }
  });
});
