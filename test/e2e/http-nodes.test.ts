import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claudeBin, makeClaudeHome } from '../support/claude-home.js';
import { isConversationRequest, startMockAnthropic, type MockAnthropic, type RecordedRequest } from '../support/mock-anthropic.js';
import { CLI, startTabcrew, TEST_STATE_KEY, waitForExit, type Crew } from '../support/tabcrew.js';
import { until as waitUntil } from '../support/until.js';

/**
 * A crew found by DNS, over HTTPS: Debian's dnsmasq publishes SRV records for three tabcrew
 * nodes (`serve --http --tls --no-stdio`, each with its own state, tmux server and
 * self-signed certificate) on loopback ports; the front, given only
 * `--nodes-from dns-srv:… --dns-server`, the shared token file and a directory of pinned
 * fingerprints, finds them, routes to them, and follows them going and coming back. Agents
 * are the benchmark's stand-in (bench/stand-in-claude.mjs), except on tabcrew-0: real Claude
 * Code against the mock Anthropic API.
 */
const run = promisify(execFile);
const standIn = resolve(import.meta.dirname, '../../bench/stand-in-claude.mjs');
const base = realpathSync(mkdtempSync(join(tmpdir(), 'tabcrew-http-nodes-')));
const SRV = '_tabcrew._tcp.crew.test';
const NAMES = ['tabcrew-0', 'tabcrew-1', 'tabcrew-2'];
const TOKEN = `tc_${'k'.repeat(43)}`;
const tokenFile = join(base, 'secret', 'token');
const fpDir = join(base, 'fingerprints');
const until = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> => waitUntil(what, probe, timeoutMs, 300);

let env: Record<string, string>;
let mock: MockAnthropic;
let claudeHome: ReturnType<typeof makeClaudeHome>;
const API_KEY = 'sk-ant-test-0123456789abcdefghij';
let dnsPort: number;
let dns: ChildProcess | undefined;
let front: Crew;
const nodes = new Map<string, { port: number; dir: string; proc?: ChildProcess; stderr: string }>();

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}

/** dnsmasq on 127.0.0.1:dnsPort, authoritative for crew.test, publishing these nodes. */
async function startDns(names: string[]): Promise<void> {
  await stopDns();
  const args = [
    '-C',
    '/dev/null',
    '--keep-in-foreground',
    '--no-resolv',
    '--no-hosts',
    '--local=/crew.test/',
    '--listen-address=127.0.0.1',
    '--bind-interfaces',
  ];
  args.push('--port', String(dnsPort), `--pid-file=${join(base, 'dnsmasq.pid')}`);
  for (const n of names) args.push(`--srv-host=${SRV},${n}.crew.test,${nodes.get(n)!.port}`, `--host-record=${n}.crew.test,127.0.0.1`);
  dns = spawn('/usr/sbin/dnsmasq', args, { stdio: 'ignore' });
  // Serving once it answers.
  await until(
    'dnsmasq answering',
    async () => {
      const { Resolver } = await import('node:dns/promises');
      const q = new Resolver({ timeout: 300, tries: 1 });
      q.setServers([`127.0.0.1:${dnsPort}`]);
      return q.resolve4(`${names[0] ?? 'tabcrew-0'}.crew.test`).then(
        () => true,
        (e: NodeJS.ErrnoException) => (e.code === 'ENOTFOUND' ? true : undefined),
      );
    },
    10_000,
  );
}

async function stopDns(): Promise<void> {
  const p = dns;
  dns = undefined;
  if (!p || p.exitCode !== null) return;
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  await exited;
}

/** One node: `tabcrew serve --http 127.0.0.1:PORT --tls --no-stdio`, answering to its DNS name. */
async function startNode(name: string): Promise<void> {
  const n = nodes.get(name)!;
  n.stderr = '';
  const proc = spawn(
    process.execPath,
    [
      CLI,
      'serve',
      '--no-stdio',
      '--http',
      `127.0.0.1:${n.port}`,
      '--tls',
      '--http-host',
      `${name}.crew.test`,
      '--backend',
      'tmux',
      '--tmux-socket',
      `tc-http-${name}-${process.pid}`,
      '--state-dir',
      join(n.dir, 'state'),
      '--log-dir',
      join(n.dir, 'logs'),
      '--runtime-dir',
      join(n.dir, 'run'),
      '--claude-path',
      name === 'tabcrew-0' ? claudeBin : standIn,
      '--start-timeout',
      '60',
    ],
    {
      env: name === 'tabcrew-0' ? { ...claudeHome.env, TABCREW_KEY_SOURCE: 'env', TABCREW_STATE_KEY: TEST_STATE_KEY } : { ...env, HOME: join(n.dir, 'home') },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  proc.stderr!.on('data', (d: Buffer) => (n.stderr += d.toString()));
  n.proc = proc;
  await until(
    `${name} serving`,
    async () => (n.stderr.includes('TLS certificate') ? true : proc.exitCode !== null ? Promise.reject(new Error(n.stderr)) : undefined),
    30_000,
  );
}

async function stopNode(name: string): Promise<void> {
  const p = nodes.get(name)!.proc;
  if (!p || p.exitCode !== null) return;
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  await exited;
}

const startFront = async (dirs?: Crew['dirs']): Promise<Crew> => {
  const crew = await startTabcrew({
    env: { ...env, HOME: base },
    dirs,
    args: [
      '--claude-path',
      standIn,
      '--nodes-from',
      `dns-srv:${SRV}`,
      '--dns-server',
      `127.0.0.1:${dnsPort}`,
      '--nodes-refresh',
      '1',
      '--node-token-file',
      `*=${tokenFile}`,
      '--node-fingerprint-dir',
      fpDir,
    ],
  });
  crew.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push({ logger: n.params.logger, data: n.params.data as never }));
  return crew;
};
/** What the front's client heard as MCP log messages (its own and the nodes', forwarded). */
const logs: { logger?: string; data: Record<string, unknown> }[] = [];

type Outcome = { node: string; ok: boolean; error?: string; fix?: string };
const listing = async (): Promise<{ sessions: { name: string; node: string; agents: string[] }[]; nodes: Outcome[] }> =>
  (await front.ok('list_sessions')) as never;
const outcome = async (node: string): Promise<Outcome | undefined> => (await listing()).nodes.find((o) => o.node === node);
const waitFor = (node: string, ok: boolean) =>
  until(`${node} ${ok ? 'up' : 'down'} in list_sessions`, async () => {
    const o = await outcome(node);
    return o?.ok === ok ? o : undefined;
  });

beforeAll(async () => {
  env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^(TMUX|TMUX_PANE|XDG_CONFIG_HOME|CLAUDECODE|CLAUDE_.*|TABCREW_.*|STAND_IN_.*|ANTHROPIC_.*)$/.test(k)) env[k] = v;
  }
  Object.assign(env, { TABCREW_KEY_SOURCE: 'env', TABCREW_STATE_KEY: TEST_STATE_KEY, STAND_IN_TURN_MS: '100', STAND_IN_START_MS: '100' });
  mock = await startMockAnthropic({ reply: (req: RecordedRequest) => `Noted: ${(mock.lastUserText(req) ?? '').split('\n').pop()}` });
  claudeHome = makeClaudeHome({ apiKey: API_KEY, baseUrl: mock.url, trustedDirs: [join(base, 'tabcrew-0', 'app')] });
  mkdirSync(join(base, 'secret'), { recursive: true, mode: 0o700 });
  writeFileSync(tokenFile, TOKEN + '\n', { mode: 0o600 });
  mkdirSync(fpDir);
  for (const name of NAMES) {
    const dir = join(base, name);
    mkdirSync(join(dir, 'state'), { recursive: true, mode: 0o700 });
    mkdirSync(join(dir, 'home'), { recursive: true });
    mkdirSync(join(dir, 'app'), { recursive: true });
    // Every node has the one token (as a mounted Secret gives each pod the same).
    writeFileSync(join(dir, 'state', 'http-token'), TOKEN + '\n', { mode: 0o600 });
    nodes.set(name, { port: await freePort(), dir, stderr: '' });
  }
  await Promise.all(NAMES.map(startNode));
  // What an operator does once per node: the node prints its fingerprint, the front gets the file.
  for (const name of NAMES) {
    const { stdout } = await run(process.execPath, [CLI, 'config', 'http', '--fingerprint', '--state-dir', join(base, name, 'state')], { env });
    writeFileSync(join(fpDir, `${name}.sha256`), stdout);
  }
  dnsPort = await freePort();
  await startDns(NAMES);
  front = await startFront();
  for (const name of NAMES) await waitFor(name, true);
}, 180_000);

afterAll(async () => {
  await front?.stop();
  for (const name of NAMES) {
    await stopNode(name).catch(() => undefined);
    const socket = `tc-http-${name}-${process.pid}`;
    let pids: number[] = [];
    try {
      pids = execFileSync('tmux', ['-L', socket, 'list-panes', '-a', '-F', '#{pane_pid}'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
        .split('\n')
        .filter(Boolean)
        .map(Number);
      execFileSync('tmux', ['-L', socket, 'kill-server'], { stdio: 'ignore' });
    } catch {
      // no tmux server was started for this node
    }
    await waitForExit(pids);
    rmSync(join(process.env.TMUX_TMPDIR ?? '/tmp', `tmux-${process.getuid?.() ?? 0}`, socket), { force: true });
  }
  await stopDns();
  await mock?.close();
  claudeHome?.cleanup();
  rmSync(base, { recursive: true, force: true });
}, 60_000);

describe('a crew over HTTPS, found by DNS SRV', () => {
  it("the front finds every node in the SRV records and lists each one's sessions", async () => {
    for (const [i, name] of NAMES.entries()) {
      expect(await front.ok('create_session', { node: name, root: join(base, name, 'app'), name: `app${i}` })).toMatchObject({ node: name, name: `app${i}` });
    }
    const l = await listing();
    expect(l.sessions.map((s) => `${s.node}:${s.name}`).sort()).toEqual(['tabcrew-0:app0', 'tabcrew-1:app1', 'tabcrew-2:app2']);
    expect(l.nodes).toEqual([{ node: 'local', ok: true }, ...NAMES.map((node) => ({ node, ok: true }))]);
  });

  it('create_agent with node routes to that node; a message reaches the agent there and its reply comes back', async () => {
    const agent = await front.ok('create_agent', { node: 'tabcrew-1', session: 'app1' });
    expect(agent).toMatchObject({ agent: 'tabcrew-1/Agent_1', node: 'tabcrew-1', status: 'idle' });
    const r = await front.ok('send_message_to_agent', { agent: 'tabcrew-1/Agent_1', message: 'hello over https', wait_for_reply: true });
    expect(r).toMatchObject({ delivered: 'confirmed', reply: expect.stringMatching(/^Stand-in reply 1: received/) });
    // The agent runs in tabcrew-1's own tmux server, not the front's nor another node's.
    expect(front.windows()).toEqual([]);
    const panes = execFileSync('tmux', ['-L', `tc-http-tabcrew-1-${process.pid}`, 'list-windows', '-a', '-F', '#{window_name}'], { encoding: 'utf8' });
    expect(panes).toContain('Agent_1');
    expect((await listing()).sessions.find((s) => s.name === 'app1')?.agents).toEqual(['tabcrew-1/Agent_1']);
  });

  it('a real Claude Code agent on an HTTPS node answers a message through the front (mock API)', async () => {
    expect(await front.ok('create_agent', { session: 'app0' })).toMatchObject({ agent: 'tabcrew-0/Agent_1', node: 'tabcrew-0', status: 'idle' });
    const r = await front.ok('send_message_to_agent', { agent: 'tabcrew-0/Agent_1', message: 'remember https-plum', wait_for_reply: true });
    expect(r).toMatchObject({ agent: 'tabcrew-0/Agent_1', delivered: 'confirmed', reply: 'Noted: remember https-plum' });
    expect(mock.requests.some((q) => isConversationRequest(q) && (mock.lastUserText(q) ?? '').includes('remember https-plum'))).toBe(true);
  }, 180_000);

  it("a node's status log messages reach the front's client over the HTTP link, and its agent's screen is a resource of the front", async () => {
    // The stand-in's turn takes 100 ms: it may be over before the node looks, and is told all the same.
    const heard = logs.length;
    await front.ok('send_message_to_agent', { agent: 'tabcrew-1/Agent_1', message: 'a second one' });
    const change = await until('a tabcrew-1 status message of that turn', async () => {
      await front.ok('get_session_status', { session: 'app1' });
      return logs
        .slice(heard)
        .find((l) => l.logger === 'tabcrew.status' && l.data.node === 'tabcrew-1' && l.data.agent === 'tabcrew-1/Agent_1' && l.data.to === 'busy');
    });
    expect(change.data).toMatchObject({ node: 'tabcrew-1', agent: 'tabcrew-1/Agent_1', session_id: expect.stringMatching(/^s-/) });
    const uri = 'tabcrew://nodes/tabcrew-1/agents/Agent_1/screen';
    expect((await front.client.listResources()).resources.map((r) => r.uri)).toContain(uri);
    await until('the second reply on the screen', async () => {
      const r = await front.client.readResource({ uri });
      return /Stand-in reply 2/.test((r.contents[0] as { text: string }).text) ? true : undefined;
    });
  });

  it('a node that is stopped goes down without failing the others, and is up again when it is restarted', async () => {
    await stopNode('tabcrew-2');
    const down = await waitFor('tabcrew-2', false);
    expect(down.error).toMatch(/tabcrew-2.*(ECONNREFUSED|not reachable)/);
    const l = await listing();
    expect(l.sessions.map((s) => s.node).sort()).toEqual(['tabcrew-0', 'tabcrew-1']);
    expect(l.nodes.filter((n) => n.ok).map((n) => n.node)).toEqual(['local', 'tabcrew-0', 'tabcrew-1']);
    // A call to another node still works.
    expect(await front.ok('get_session_status', { session: 'app1' })).toMatchObject({ node: 'tabcrew-1' });
    await startNode('tabcrew-2');
    await waitFor('tabcrew-2', true);
    expect((await listing()).sessions.map((s) => s.node).sort()).toEqual(['tabcrew-0', 'tabcrew-1', 'tabcrew-2']);
  }, 90_000);

  it('a node whose SRV record is removed goes down saying so, and comes back when the record returns', async () => {
    await startDns(['tabcrew-0', 'tabcrew-1']);
    // A listing in flight when the record goes may see the connection cut; the next says why.
    await until('tabcrew-2 reported gone from the SRV records', async () => {
      const o = await outcome('tabcrew-2');
      return o && !o.ok && /no longer among the SRV records of _tabcrew._tcp.crew.test/.test(o.error ?? '') ? o : undefined;
    });
    await startDns(NAMES);
    await waitFor('tabcrew-2', true);
  }, 90_000);

  it('a restarted front finds the nodes again and routes by the sessions it kept', async () => {
    const dirs = front.dirs;
    await front.disconnect();
    front = await startFront(dirs);
    const s = await until('tabcrew-1 answering for app1', async () => {
      const r = await front.call('get_session_status', { session: 'app1' });
      return r.isError ? undefined : r.structuredContent;
    });
    expect(s).toMatchObject({ node: 'tabcrew-1', name: 'app1' });
    for (const name of NAMES) await waitFor(name, true);
    expect((await listing()).sessions.find((x) => x.name === 'app1')?.agents).toEqual(['tabcrew-1/Agent_1']);
  }, 90_000);

  it('tabcrew nodes: a wrong token is refused naming the token file; a wrong pinned fingerprint names the expected and the seen one', async () => {
    const port = nodes.get('tabcrew-0')!.port;
    const seen = readFileSync(join(fpDir, 'tabcrew-0.sha256'), 'utf8').trim();
    const wrongToken = join(base, 'secret', 'wrong');
    writeFileSync(wrongToken, `tc_${'w'.repeat(43)}\n`, { mode: 0o600 });
    const nodesCmd = (...args: string[]) =>
      run(process.execPath, [CLI, 'nodes', '--json', '--runtime-dir', join(base, 'cli-run'), ...args], { env }).then(
        (r) => ({ code: 0, out: r.stdout }),
        (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }),
      );
    let r = await nodesCmd('--node', `box=https://127.0.0.1:${port}`, '--node-token-file', `box=${wrongToken}`, '--node-fingerprint', `box=${seen}`);
    expect(r.code).toBe(1);
    let report = (JSON.parse(r.out) as { nodes: { state: string; last_error: string; fix: string }[] }).nodes[0];
    expect(report).toMatchObject({ state: 'down', last_error: `node box refused the bearer token from ${wrongToken} (401)` });
    expect(r.out).not.toContain('wwww');
    const wrong = 'AB:'.repeat(31) + 'CD';
    r = await nodesCmd('--node', `box=https://127.0.0.1:${port}`, '--node-token-file', `box=${tokenFile}`, '--node-fingerprint', `box=${wrong}`);
    expect(r.code).toBe(1);
    report = (JSON.parse(r.out) as { nodes: { state: string; last_error: string; fix: string }[] }).nodes[0];
    expect(report.state).toBe('down');
    expect(report.last_error).toContain(`has SHA-256 fingerprint ${seen}, but ${wrong} is pinned`);
    expect(report.fix).toContain('tabcrew config http --fingerprint');
    // And the right ones: up, and doctor --node says so.
    r = await nodesCmd('--node', `box=https://127.0.0.1:${port}`, '--node-token-file', `box=${tokenFile}`, '--node-fingerprint', `box=${seen}`);
    expect(r.code).toBe(0);
    const doctor = JSON.parse(
      (
        await run(
          process.execPath,
          [
            CLI,
            'doctor',
            '--json',
            '--runtime-dir',
            join(base, 'cli-run'),
            '--node',
            'box',
            '--node',
            `box=https://127.0.0.1:${port}`,
            '--node-token-file',
            `box=${tokenFile}`,
            '--node-fingerprint',
            `box=${seen}`,
          ],
          { env },
        )
      ).stdout,
    ) as { ok: boolean; checks: { check: string; status: string; detail: string }[] };
    expect(doctor.checks[0]).toMatchObject({
      check: 'tabcrew',
      status: 'ok',
      detail: expect.stringContaining('matches the pinned fingerprint, token accepted'),
    });
    expect(existsSync(join(base, 'cli-run'))).toBe(true);
  });
});
