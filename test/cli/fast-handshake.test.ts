import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/audit/logger.js';
import { handshakeAnswers } from '../../src/server/handshake.js';
import { HandoverTransport } from '../../src/server/handover-transport.js';
import { createServer } from '../../src/server/server.js';
import type { Supervisor } from '../../src/supervisor/supervisor.js';
import { CLI } from '../support/tabcrew.js';
import { REPO, isolated, testEnv } from './run-cli.js';

const home = mkdtempSync(join(tmpdir(), 'tabcrew-handshake-home-'));
const bases: string[] = [];
afterAll(() => {
  for (const b of [home, ...bases]) rmSync(b, { recursive: true, force: true });
});

type Message = Record<string, any>;

/** `tabcrew serve` on an empty state, speaking newline-delimited JSON-RPC on its stdio. */
function serve(extraEnv: Record<string, string> = {}, args: string[] = []) {
  const dirs = isolated();
  bases.push(dirs.base);
  const child: ChildProcess = spawn(process.execPath, [CLI, 'serve', ...dirs.flags, ...args], {
    cwd: REPO,
    env: testEnv(home, extraEnv),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let buf = '';
  let stderr = '';
  child.stdout!.on('data', (d) => {
    buf += d;
    for (let i; (i = buf.indexOf('\n')) >= 0;) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const messages = (): Message[] => lines.map((l) => JSON.parse(l) as Message);
  return {
    child,
    lines,
    messages,
    stderr: () => stderr,
    log: () => readFileSync(join(dirs.base, 'logs', 'tabcrew.log'), 'utf8'),
    send: (...ms: Message[]) => child.stdin!.write(ms.map((m) => `${JSON.stringify(m)}\n`).join('')),
    /** Resolves with the answer to `id` (bounded: 60 s). */
    async answer(id: number): Promise<Message> {
      for (let i = 0; i < 1200; i++) {
        const m = messages().find((x) => x.id === id && !x.method);
        if (m) return m;
        if (child.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`no answer to request ${id}; stdout: ${lines.join('\n')}; stderr: ${stderr}`);
    },
    async stop(): Promise<number | null> {
      child.stdin!.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    exited,
  };
}

const initialize = (id: number, protocolVersion: string): Message => ({
  jsonrpc: '2.0',
  id,
  method: 'initialize',
  params: { protocolVersion, capabilities: {}, clientInfo: { name: 'handshake-test', version: '1.0.0' } },
});
const initialized = { jsonrpc: '2.0', method: 'notifications/initialized' };
const toolsList = (id: number): Message => ({ jsonrpc: '2.0', id, method: 'tools/list' });

/** initialize → its answer → initialized + tools/list → its answer, as MCP clients do. */
async function handshake(extraEnv: Record<string, string>, protocolVersion: string) {
  const s = serve(extraEnv);
  s.send(initialize(1, protocolVersion));
  const init = await s.answer(1);
  s.send(initialized, toolsList(2));
  const tools = await s.answer(2);
  // The server that took over has read both requests by the time it answers a ping.
  s.send({ jsonrpc: '2.0', id: 3, method: 'ping' });
  await s.answer(3);
  const all = s.messages();
  expect(await s.stop()).toBe(0);
  return { init, tools, all, log: s.log(), stderr: s.stderr() };
}

describe('the entry answers the MCP handshake before the server has loaded', () => {
  for (const version of ['2025-11-25', '2025-06-18', '2024-11-05', '1999-01-01']) {
    it(`its answers to initialize and tools/list equal the full server's (client asks for protocol ${version})`, async () => {
      const fast = await handshake({}, version);
      const full = await handshake({ TABCREW_FAST_HANDSHAKE: '0' }, version);
      expect(fast.log).toContain('handshake answered by the entry');
      expect(full.log).not.toContain('handshake answered by the entry');
      expect(fast.init).toEqual(full.init);
      expect(fast.tools).toEqual(full.tools);
      expect(fast.tools.result.tools.length).toBeGreaterThan(5);
      // The server that took over found nothing to correct, and sent no second answer.
      expect(fast.stderr).not.toContain('differs');
      expect(fast.all.filter((m) => m.method === 'notifications/tools/list_changed')).toEqual([]);
      expect(fast.all.filter((m) => m.id === 1 || m.id === 2)).toHaveLength(2);
    });
  }

  it("the build embedded what the server's own definitions answer now", async () => {
    const entry = readFileSync(CLI, 'utf8');
    const embedded = JSON.parse(/^const HANDSHAKE = (.*);$/m.exec(entry)![1]) as Record<string, unknown>;
    const now = await handshakeAnswers();
    expect(embedded.initialize).toEqual(now.initialize);
    expect(embedded.tools).toEqual(JSON.parse(JSON.stringify(now.tools)));
    expect(embedded.supportedProtocolVersions).toEqual(now.supportedProtocolVersions);
  });

  it('a client that sends the handshake and tool calls at once gets exactly one answer per request, from the server that takes over', async () => {
    const s = serve();
    s.send(
      initialize(1, '2025-06-18'),
      initialized,
      { jsonrpc: '2.0', id: 2, method: 'resources/templates/list' },
      toolsList(3),
      { jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'list_sessions', arguments: {} } },
      { jsonrpc: '2.0', id: 5, method: 'ping' },
    );
    for (const id of [1, 2, 3, 4, 5]) await s.answer(id);
    s.send({ jsonrpc: '2.0', id: 6, method: 'ping' });
    await s.answer(6);
    const all = s.messages();
    expect(await s.stop()).toBe(0);
    for (const id of [1, 2, 3, 4, 5, 6]) expect(all.filter((m) => m.id === id)).toHaveLength(1);
    expect(all.find((m) => m.id === 4)!.result.structuredContent).toEqual({ sessions: [] });
    expect(all.find((m) => m.id === 2)!.result.resourceTemplates.length).toBeGreaterThan(0);
    // stdout is MCP only: every line is a JSON-RPC message.
    for (const m of all) expect(m.jsonrpc).toBe('2.0');
  });

  it('a front that finds its nodes by DNS (--nodes-from or TABCREW_NODES_FROM) answers its handshake itself, with `node` on every tool', async () => {
    const discovery = ['--dns-server', '127.0.0.1:9', '--node-token-file', '*=/nonexistent/token', '--node-fingerprint-dir', '/nonexistent'];
    for (const [env, args] of [
      [{}, ['--nodes-from', 'dns-srv:_tabcrew._tcp.crew.test', ...discovery]],
      [{ TABCREW_NODES_FROM: 'dns-srv:_tabcrew._tcp.crew.test' }, discovery],
    ] as [Record<string, string>, string[]][]) {
      const s = serve(env, args);
      s.send(initialize(1, '2025-06-18'));
      await s.answer(1);
      s.send(initialized, toolsList(2));
      const tools = (await s.answer(2)).result.tools as { name: string; inputSchema: { properties?: Record<string, unknown> } }[];
      expect(await s.stop()).toBe(0);
      expect(tools.filter((t) => !t.inputSchema.properties?.node).map((t) => t.name)).toEqual([]);
      expect(s.log()).not.toContain('handshake answered by the entry');
    }
  });

  it('a command line that is not a plain serve gets the full CLI, with no handshake before its usage error', async () => {
    for (const args of [['--no-such-option'], ['--backend', 'nope']]) {
      const s = serve({}, args);
      s.send(initialize(1, '2025-06-18'));
      const code = await Promise.race([s.exited, new Promise<'running'>((r) => setTimeout(() => r('running'), 30_000))]);
      if (code === 'running') s.child.kill('SIGKILL');
      expect(code).toBe(2);
      expect(s.lines).toEqual([]);
      expect(s.stderr()).toMatch(/usage: tabcrew serve/);
    }
  });
});

describe('the server that takes over from the fast handshake', () => {
  it('corrects an out-of-date tool list with notifications/tools/list_changed and sends no second answer', async () => {
    const { server } = createServer({
      log: silentLogger,
      ready: new Promise<void>(() => undefined),
      get supervisor(): Supervisor {
        throw new Error('not needed');
      },
    });
    const real = await handshakeAnswers();
    const input = new PassThrough();
    const out: Message[] = [];
    const stdout = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n').filter(Boolean)) out.push(JSON.parse(l) as Message);
        done();
      },
    });
    const warnings: string[] = [];
    const answered = new Map<string | number, { method: string; result: string }>([
      [1, { method: 'initialize', result: JSON.stringify(real.initialize) }],
      [2, { method: 'tools/list', result: JSON.stringify({ tools: [] }) }],
    ]);
    await server.connect(new HandoverTransport({ input, answered }, (m) => warnings.push(m), stdout));
    input.write(
      `${[initialize(1, real.latestProtocolVersion), initialized, toolsList(2), { jsonrpc: '2.0', id: 3, method: 'ping' }].map((m) => JSON.stringify(m)).join('\n')}\n`,
    );
    for (let i = 0; i < 200 && !out.some((m) => m.id === 3); i++) await new Promise((r) => setTimeout(r, 10));
    await server.close();
    expect(out).toEqual([
      { jsonrpc: '2.0', method: 'notifications/tools/list_changed' },
      { jsonrpc: '2.0', id: 3, result: {} },
    ]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/tools\/list differs/);
  });
});

describe('what a server loads', () => {
  /**
   * `tabcrew serve` with a preload that notes which of node's fetch classes (Headers, Request, Response: getters
   * that load node's undici, its HTTP parser's WebAssembly memory among it, 4 MB) anything reads, after one tool call.
   */
  async function fetchClassesRead(args: string[]): Promise<string[]> {
    const dir = mkdtempSync(join(tmpdir(), 'tabcrew-preload-'));
    bases.push(dir);
    const preload = join(dir, 'note-fetch-classes.cjs');
    const out = join(dir, 'read.json');
    writeFileSync(
      preload,
      `const read = new Set();
       for (const name of ['Headers', 'Request', 'Response']) {
         const d = Object.getOwnPropertyDescriptor(globalThis, name);
         if (d && d.get) Object.defineProperty(globalThis, name, { ...d, get() { read.add(name); return d.get.call(this); } });
       }
       process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify([...read].sort())));`,
    );
    const s = serve({ NODE_OPTIONS: `--require ${preload}` }, args);
    s.send(initialize(1, '2025-06-18'), initialized, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'list_sessions', arguments: {} } });
    await s.answer(2);
    expect(await s.stop()).toBe(0);
    return JSON.parse(readFileSync(out, 'utf8')) as string[];
  }

  it('a server on stdio alone does not load the HTTP layer: nothing reads the fetch classes it builds on', async () => {
    expect(await fetchClassesRead([])).toEqual([]);
  });

  it('with --http the HTTP layer is loaded (and the preload sees its fetch classes read)', async () => {
    expect(await fetchClassesRead(['--http', '0'])).toEqual(['Headers', 'Request', 'Response']);
  });
});
