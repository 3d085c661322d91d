import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/audit/logger.js';
import { NodeLink } from '../../src/crew/node-link.js';
import { parseNodeFlag, type HttpNodeSpec } from '../../src/crew/node-spec.js';
import { startHttp, type HttpServer } from '../../src/server/http/http-server.js';
import { loadOrCreateToken } from '../../src/server/http/token.js';
import { fingerprintOf, loadTls } from '../../src/server/http/tls.js';
import type { ToolDeps } from '../../src/server/tool-kit.js';
import { version } from '../../src/version.js';
import { until } from '../support/until.js';

/**
 * The front's HTTP link against tabcrew's own `serve --http --tls` server (in this process, on
 * 127.0.0.1, no supervisor: the handshake and pings need none), with certificates made by
 * openssl: pinning accepts the node's certificate and refuses any other before the token is
 * sent, a wrong token is refused with the file to fix, and a node that stops goes down and
 * comes back.
 */
const dir = mkdtempSync(join(tmpdir(), 'tabcrew-http-link-'));
const stateDir = join(dir, 'node-state');
const log = createLogger(join(dir, 'logs'));
const deps = {
  log,
  // A state that never opens: the handshake and pings are answered without it.
  ready: new Promise<void>(() => undefined),
  get supervisor(): never {
    throw new Error('no supervisor in this test');
  },
} as unknown as ToolDeps;
let server: HttpServer;
let port: number;
let fingerprint: string;
let tokenFile: string;
const links: NodeLink[] = [];

async function serveNode(atPort = 0): Promise<HttpServer> {
  const tls = loadTls({ selfSigned: true }, stateDir);
  return startHttp(deps, { bind: '127.0.0.1', port: atPort, token: loadOrCreateToken(stateDir), stateDir, tls });
}

function link(spec: HttpNodeSpec): NodeLink {
  const l = new NodeLink(spec, { ssh: { controlDir: dir }, frontVersion: version, reconnect: false, log });
  links.push(l);
  return l;
}

const spec = (over: Partial<HttpNodeSpec> = {}): HttpNodeSpec => ({
  ...(parseNodeFlag(`box=https://127.0.0.1:${port}`, { tokenFiles: { box: tokenFile }, fingerprints: { box: fingerprint } }) as HttpNodeSpec),
  ...over,
});

beforeAll(async () => {
  server = await serveNode();
  port = server.port;
  fingerprint = loadTls({ selfSigned: true }, stateDir).fingerprint;
  tokenFile = join(dir, 'box.token');
  writeFileSync(tokenFile, loadOrCreateToken(stateDir) + '\n', { mode: 0o600 });
});

afterAll(async () => {
  await Promise.all(links.map((l) => l.close()));
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('serve --http --tls', () => {
  it('makes a self-signed certificate once (openssl), keeps it, and serves https with it', () => {
    const again = loadTls({ selfSigned: true }, stateDir);
    expect(again.fingerprint).toBe(fingerprint);
    expect(fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(server.url).toBe(`https://127.0.0.1:${port}`);
    // The same value openssl computes.
    const out = execFileSync('openssl', ['x509', '-in', again.certFile, '-noout', '-fingerprint', '-sha256'], { encoding: 'utf8' });
    expect(out.trim().split('=')[1]).toBe(fingerprint);
    // The key is the node's own: 0600.
    expect(statSync(join(stateDir, 'http-tls-key.pem')).mode & 0o777).toBe(0o600);
  });
});

describe('an https node link', () => {
  it('with the pinned fingerprint: up, answering as tabcrew of the same version', async () => {
    const l = link(spec());
    await l.connect();
    expect(l.report()).toMatchObject({ node: 'box', state: 'up', version, url: `https://127.0.0.1:${port}/mcp` });
  });

  it('with another fingerprint pinned: down, saying which was expected and which was seen, and nothing reaches the node', async () => {
    const other = join(dir, 'other');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        join(dir, 'other.key'),
        '-out',
        other,
        '-days',
        '1',
        '-subj',
        '/CN=other',
      ],
      { stdio: 'ignore' },
    );
    const wrong = fingerprintOf(readFileSync(other));
    const refusalsBefore = readAuditless();
    const l = link(spec({ trust: { kind: 'fingerprint', fingerprint: wrong, from: '--node-fingerprint box=…' } }));
    await l.connect();
    const r = l.report();
    expect(r.state).toBe('down');
    expect(r.last_error).toContain(`has SHA-256 fingerprint ${fingerprint}, but ${wrong} is pinned (--node-fingerprint box=…)`);
    expect(r.last_error).toContain('nothing was sent to it');
    expect(r.fix).toMatch(/tabcrew config http --fingerprint/);
    // The node saw no request at all (a request with a wrong or right token would be in its log).
    expect(readAuditless()).toBe(refusalsBefore);
  });

  it('with a fingerprint file that does not exist: down, naming the file and the command that fills it', async () => {
    const l = link(spec({ trust: { kind: 'fingerprint-file', file: join(dir, 'fp', 'box.sha256') } }));
    await l.connect();
    expect(l.report()).toMatchObject({
      state: 'down',
      last_error: expect.stringContaining(join(dir, 'fp', 'box.sha256')),
      fix: expect.stringContaining('tabcrew config http --fingerprint'),
    });
    writeFileSync(join(dir, 'box.sha256'), `sha256 Fingerprint=${fingerprint}\n`);
    const l2 = link(spec({ trust: { kind: 'fingerprint-file', file: join(dir, 'box.sha256') } }));
    await l2.connect();
    expect(l2.state).toBe('up');
  });

  it('with a wrong token: down, saying the token was refused and which file to fix; the token is in no message', async () => {
    const before = readAuditless();
    const bad = join(dir, 'bad.token');
    writeFileSync(bad, 'tc_not-the-token-of-this-node-at-all-0000000000\n');
    const l = link(spec({ tokenFile: bad }));
    await l.connect();
    const r = l.report();
    expect(r).toMatchObject({ state: 'down' });
    expect(r.last_error).toBe(`node box refused the bearer token from ${bad} (401)`);
    expect(r.fix).toContain(`into ${bad}`);
    expect(JSON.stringify(r)).not.toContain('tc_not-the-token');
    expect(JSON.stringify(r)).not.toContain(loadOrCreateToken(stateDir));
    // The node logged the refusal (and so would have logged the pinned-mismatch link's request, had one arrived).
    await until('the refusal in the node log', async () => (readAuditless() > before ? true : undefined), 5000, 100);
  });

  it('version skew over HTTP: a node of another minor version (before 1.0) is refused, with the version to install', async () => {
    const l = new NodeLink(spec(), { ssh: { controlDir: dir }, frontVersion: '0.99.0', reconnect: false, log });
    links.push(l);
    await l.connect();
    expect(l.report()).toMatchObject({ state: 'refused', version, fix: expect.stringContaining('install tabcrew 0.99.0 on box') });
  });

  it('plain http to a loopback node: up, with the token and no TLS', async () => {
    const plainState = join(dir, 'plain-state');
    const plain = await startHttp(deps, { bind: '127.0.0.1', port: 0, token: loadOrCreateToken(plainState), stateDir: plainState });
    try {
      const token = join(dir, 'plain.token');
      writeFileSync(token, loadOrCreateToken(plainState) + '\n');
      const l = link(parseNodeFlag(`plain=http://127.0.0.1:${plain.port}`, { tokenFiles: { plain: token } }) as HttpNodeSpec);
      await l.connect();
      expect(l.report()).toMatchObject({ state: 'up', url: `http://127.0.0.1:${plain.port}/mcp` });
      await l.close();
    } finally {
      await plain.close();
    }
  });

  it('plain http is refused for a host that is not loopback, unless --node-insecure', () => {
    expect(() => parseNodeFlag('box=http://10.0.0.5:8787', { tokenFiles: { '*': tokenFile } })).toThrow(/plain http.*--node-insecure/);
    expect(parseNodeFlag('box=http://10.0.0.5:8787', { tokenFiles: { '*': tokenFile }, insecure: true })).toMatchObject({ transport: 'http', tls: false });
    expect(parseNodeFlag('box=http://127.0.0.1:8787', { tokenFiles: { '*': tokenFile } })).toMatchObject({
      url: 'http://127.0.0.1:8787/mcp',
      trust: { kind: 'none' },
    });
  });

  it('a node that stops goes down (heartbeat) and comes back up when it serves again', async () => {
    const l = new NodeLink(spec(), { ssh: { controlDir: dir }, frontVersion: version, log });
    links.push(l);
    await l.connect();
    expect(l.state).toBe('up');
    await server.close();
    await until('link down after the node stopped', async () => (l.state === 'down' ? true : undefined), 15_000, 200);
    expect(l.report().last_error).toMatch(/not reachable \(ECONNREFUSED\)|fetch failed|closed/);
    server = await serveNode(port);
    await until('link up after the node is back', async () => (l.state === 'up' ? true : undefined), 20_000, 200);
  }, 40_000);
});

/** How many requests the node refused so far (its operational log's "http request refused" lines). */
function readAuditless(): number {
  try {
    return readFileSync(join(dir, 'logs', 'tabcrew.log'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('http request refused')).length;
  } catch {
    return 0;
  }
}
