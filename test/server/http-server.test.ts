import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/audit/logger.js';
import { startHttp, type HttpServer } from '../../src/server/http/http-server.js';
import type { ToolDeps } from '../../src/server/tool-kit.js';

/**
 * `serve --http` on a real socket (in this process, no supervisor: nothing here needs one):
 * what only a real request shows — a Host header of the client's choosing, a body sent in
 * chunks with no length, the MCP SDK's client over Streamable HTTP, and event streams that
 * stay open until the client goes.
 */
const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'tabcrew-http-server-'));
const TOKEN = `tc_${'s'.repeat(43)}`;
const audited: Record<string, unknown>[] = [];
const deps = {
  log: createLogger(join(dir, 'logs')),
  audit: { append: async (e: Record<string, unknown>) => (audited.push(e), e) },
  // A state that never opens: the handshake, the refusals and the streams' start need none.
  ready: new Promise<void>(() => undefined),
  get supervisor(): never {
    throw new Error('no supervisor in this test');
  },
} as unknown as ToolDeps;
let server: HttpServer;
let port: number;

beforeAll(async () => {
  server = await startHttp(deps, { bind: '127.0.0.1', port: 0, token: TOKEN, stateDir: dir });
  port = server.port;
});
afterAll(() => server?.close());

/** A raw GET: any Host, and (for a stream) just the first bytes of the answer. */
function raw(
  path: string,
  o: { host?: string; headers?: Record<string, string>; firstBytes?: boolean } = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host: o.host ?? `127.0.0.1:${port}`, ...o.headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
        if (o.firstBytes) {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
          req.destroy();
        }
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', (e) => (o.firstBytes ? undefined : reject(e)));
    req.end();
  });
}

const bearer = { authorization: `Bearer ${TOKEN}` };

describe('serve --http on a real socket', () => {
  it('a Host of another name is refused with 403 on the page, its files, /metrics and /mcp, token or not', async () => {
    for (const path of ['/', '/assets/app.js', '/metrics', '/mcp', '/api/health']) {
      for (const headers of [{}, bearer]) {
        const r = await raw(path, { host: 'evil.example.com', headers });
        expect(r.status, path).toBe(403);
        expect(r.body).toBe('Forbidden\n');
      }
    }
    expect((await raw('/api/health', { headers: bearer })).status).toBe(200);
    // On record: why, what was asked, and from where.
    expect(audited[0]).toMatchObject({
      type: 'refusal',
      what: 'http_request',
      reason: 'Host "evil.example.com" is not this server',
      method: 'GET',
      path: '/',
      remote: '127.0.0.1',
    });
  });

  it('a body sent in chunks with no length is cut off at the limit with 413 on /mcp and /api', async () => {
    // curl, in its own process: it reads the answer while it still sends, as a real client does.
    const big = join(dir, 'big.json');
    writeFileSync(big, Buffer.alloc(5 * 1024 * 1024, 'x'));
    for (const path of ['/mcp', '/api/tools/get_agent_output']) {
      const { stdout } = await run('curl', [
        '-sS',
        '-X',
        'POST',
        '-H',
        'transfer-encoding: chunked',
        '-H',
        `authorization: Bearer ${TOKEN}`,
        '--data-binary',
        `@${big}`,
        '-w',
        '\n%{http_code}',
        `${server.url}${path}`,
      ]);
      const [body, status] = stdout.split('\n');
      expect(status, path).toBe('413');
      expect(JSON.parse(body).error).toMatch(/^the request body is over \d+ bytes$/);
    }
  });

  it('an unknown path is a 404 that repeats nothing of what was asked', async () => {
    for (const [path, headers] of [
      ['/%3Cscript%3Ealert(1)%3C/script%3E', {}],
      ['/api/%3Cscript%3Ealert(1)%3C/script%3E', bearer],
    ] as const) {
      const r = await raw(path, { headers });
      expect(r.status, path).toBe(404);
      expect(r.body).not.toMatch(/script|alert/i);
    }
  });

  it("the MCP SDK's client talks to /mcp over Streamable HTTP, and the session is counted and closed", async () => {
    const client = new Client({ name: 'http-server-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), { requestInit: { headers: bearer } }));
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain('get_session_status');
    expect(JSON.parse((await raw('/api/health', { headers: bearer })).body)).toMatchObject({ status: 'ok', http_mcp_sessions: 1 });
    await client.close();
  });

  it('the live feed and a screen are event streams that start at once and stay open', async () => {
    for (const path of ['/api/events', '/api/agents/Agent_1/screen']) {
      const r = await raw(path, { headers: { ...bearer, accept: 'text/event-stream' }, firstBytes: true });
      expect(r.status, path).toBe(200);
      expect(String(r.headers['content-type'])).toMatch(/^text\/event-stream/);
      expect(r.body).toMatch(/^retry: 2000\n\n/);
    }
  });
});
