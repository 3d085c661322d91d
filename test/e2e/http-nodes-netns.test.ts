import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, startTabcrew, TEST_STATE_KEY, waitForExit, type Crew } from '../support/tabcrew.js';
import { until as waitUntil } from '../support/until.js';

/**
 * The same crew as http-nodes.test.ts, each machine with its own network: three tabcrew
 * nodes, each in its own network namespace with its own address on a veth pair, serving
 * `--http --tls` on that address; dnsmasq in a namespace of its own publishing their SRV
 * and address records; the front, in this namespace, reaches them over the veths. Needs
 * root (CAP_NET_ADMIN) and iproute2; every namespace (and with it every veth) is removed
 * at the end.
 */
const run = promisify(execFile);
const canNetns = (() => {
  try {
    return process.getuid?.() === 0 && !!execFileSync('sh', ['-c', 'command -v ip && command -v /usr/sbin/dnsmasq'], { encoding: 'utf8' });
  } catch {
    return false;
  }
})();

const standIn = resolve(import.meta.dirname, '../../bench/stand-in-claude.mjs');
const base = realpathSync(mkdtempSync(join(tmpdir(), 'tabcrew-netns-')));
const SRV = '_tabcrew._tcp.crew.test';
const NAMES = ['tabcrew-0', 'tabcrew-1', 'tabcrew-2'];
const TOKEN = `tc_${'n'.repeat(43)}`;
const PORT = 8787;
const tokenFile = join(base, 'token');
const fpDir = join(base, 'fingerprints');
const tag = String(process.pid % 100_000);
// A private 10.x range per run: the second octet from the pid, unlikely to meet another run's.
const octet = 100 + (process.pid % 150);
const until = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> => waitUntil(what, probe, timeoutMs, 300);

interface Box {
  ns: string;
  hostIf: string;
  hostAddr: string;
  addr: string;
}
/** Machine i (0-2 the nodes, 9 the DNS server): its namespace, its veth and the two ends' addresses. */
const box = (i: number): Box => ({ ns: `tcn-${tag}-${i}`, hostIf: `tcn${tag}h${i}`, hostAddr: `10.${octet}.${i}.1`, addr: `10.${octet}.${i}.2` });
const made: string[] = [];
let env: Record<string, string>;
let dns: ChildProcess | undefined;
let front: Crew | undefined;
const procs = new Map<string, ChildProcess>();
const ip = (...args: string[]): void => void execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });

function makeBox(i: number): Box {
  const b = box(i);
  ip('netns', 'add', b.ns);
  made.push(b.ns);
  ip('link', 'add', b.hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', b.ns);
  ip('addr', 'add', `${b.hostAddr}/24`, 'dev', b.hostIf);
  ip('link', 'set', b.hostIf, 'up');
  ip('-n', b.ns, 'addr', 'add', `${b.addr}/24`, 'dev', 'eth0');
  ip('-n', b.ns, 'link', 'set', 'eth0', 'up');
  ip('-n', b.ns, 'link', 'set', 'lo', 'up');
  return b;
}

/** Deleting the namespace ends its veth (both ends) with it. */
function removeBox(i: number): void {
  const b = box(i);
  try {
    ip('netns', 'del', b.ns);
  } catch {
    // already gone
  }
  const at = made.indexOf(b.ns);
  if (at >= 0) made.splice(at, 1);
}

async function stop(p: ChildProcess | undefined): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  await exited;
}

async function startDns(names: string[]): Promise<void> {
  await stop(dns);
  const d = box(9);
  const args = ['netns', 'exec', d.ns, '/usr/sbin/dnsmasq', '-C', '/dev/null', '--keep-in-foreground', '--no-resolv', '--no-hosts', '--local=/crew.test/'];
  args.push(`--listen-address=${d.addr}`, '--bind-interfaces', '--port', '53', `--pid-file=${join(base, 'dnsmasq.pid')}`);
  for (const n of names) {
    const i = NAMES.indexOf(n);
    args.push(`--srv-host=${SRV},${n}.crew.test,${PORT}`, `--host-record=${n}.crew.test,${box(i).addr}`);
  }
  dns = spawn('ip', args, { stdio: 'ignore' });
  const { Resolver } = await import('node:dns/promises');
  await until(
    'dnsmasq answering',
    async () => {
      const q = new Resolver({ timeout: 300, tries: 1 });
      q.setServers([d.addr]);
      return q.resolveSrv(SRV).then(
        () => true,
        (e: NodeJS.ErrnoException) => (e.code === 'ENOTFOUND' ? true : undefined),
      );
    },
    10_000,
  );
}

async function startNode(i: number): Promise<void> {
  const name = NAMES[i];
  const dir = join(base, name);
  let stderr = '';
  const p = spawn(
    'ip',
    [
      'netns',
      'exec',
      box(i).ns,
      process.execPath,
      CLI,
      'serve',
      '--no-stdio',
      '--http',
      String(PORT),
      '--http-bind',
      box(i).addr,
      '--tls',
      '--http-host',
      `${name}.crew.test`,
      '--backend',
      'tmux',
      '--tmux-socket',
      `tcn-${tag}-${name}`,
      '--state-dir',
      join(dir, 'state'),
      '--log-dir',
      join(dir, 'logs'),
      '--runtime-dir',
      join(dir, 'run'),
      '--claude-path',
      standIn,
      '--start-timeout',
      '20',
    ],
    { env: { ...env, HOME: join(dir, 'home') }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  p.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  procs.set(name, p);
  await until(
    `${name} serving`,
    async () => (stderr.includes('TLS certificate') ? true : p.exitCode !== null ? Promise.reject(new Error(stderr)) : undefined),
    30_000,
  );
}

type Outcome = { node: string; ok: boolean; error?: string };
const listing = async (): Promise<{ sessions: { name: string; node: string; agents: string[] }[]; nodes: Outcome[] }> =>
  (await front!.ok('list_sessions')) as never;
const waitFor = (node: string, ok: boolean) =>
  until(`${node} ${ok ? 'up' : 'down'} in list_sessions`, async () => {
    const o = (await listing()).nodes.find((n) => n.node === node);
    return o?.ok === ok ? o : undefined;
  });

beforeAll(async () => {
  if (!canNetns) return;
  env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^(TMUX|TMUX_PANE|XDG_CONFIG_HOME|CLAUDECODE|CLAUDE_.*|TABCREW_.*|STAND_IN_.*|ANTHROPIC_.*)$/.test(k)) env[k] = v;
  }
  Object.assign(env, { TABCREW_KEY_SOURCE: 'env', TABCREW_STATE_KEY: TEST_STATE_KEY, STAND_IN_TURN_MS: '100', STAND_IN_START_MS: '100' });
  writeFileSync(tokenFile, TOKEN + '\n', { mode: 0o600 });
  mkdirSync(fpDir);
  for (const [i, name] of NAMES.entries()) {
    const dir = join(base, name);
    mkdirSync(join(dir, 'state'), { recursive: true, mode: 0o700 });
    mkdirSync(join(dir, 'home'), { recursive: true });
    mkdirSync(join(dir, 'app'), { recursive: true });
    writeFileSync(join(dir, 'state', 'http-token'), TOKEN + '\n', { mode: 0o600 });
    makeBox(i);
  }
  makeBox(9);
  await Promise.all(NAMES.map((_, i) => startNode(i)));
  for (const name of NAMES) {
    const { stdout } = await run(process.execPath, [CLI, 'config', 'http', '--fingerprint', '--state-dir', join(base, name, 'state')], { env });
    writeFileSync(join(fpDir, `${name}.sha256`), stdout);
  }
  await startDns(NAMES);
  front = await startTabcrew({
    env: { ...env, HOME: base },
    args: [
      '--claude-path',
      standIn,
      '--nodes-from',
      `dns-srv:${SRV}`,
      '--dns-server',
      box(9).addr,
      '--nodes-refresh',
      '1',
      '--node-token-file',
      `*=${tokenFile}`,
      '--node-fingerprint-dir',
      fpDir,
    ],
  });
  for (const name of NAMES) await waitFor(name, true);
}, 180_000);

afterAll(async () => {
  await front?.stop();
  for (const p of procs.values()) await stop(p).catch(() => undefined);
  await stop(dns).catch(() => undefined);
  for (const name of NAMES) {
    const socket = `tcn-${tag}-${name}`;
    let pids: number[] = [];
    try {
      pids = execFileSync('tmux', ['-L', socket, 'list-panes', '-a', '-F', '#{pane_pid}'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
        .split('\n')
        .filter(Boolean)
        .map(Number);
      execFileSync('tmux', ['-L', socket, 'kill-server'], { stdio: 'ignore' });
    } catch {
      // no tmux server for this node
    }
    await waitForExit(pids);
    rmSync(join(process.env.TMUX_TMPDIR ?? '/tmp', `tmux-${process.getuid?.() ?? 0}`, socket), { force: true });
  }
  for (const ns of [...made]) removeBox(Number(ns.split('-').pop()));
  rmSync(base, { recursive: true, force: true });
}, 60_000);

describe.skipIf(!canNetns)('a crew over HTTPS, each node in its own network namespace, found by DNS in another', () => {
  it('the front finds the three nodes at their own addresses and routes create_agent to a named one', async () => {
    const l = await listing();
    expect(l.nodes).toEqual([{ node: 'local', ok: true }, ...NAMES.map((node) => ({ node, ok: true }))]);
    for (const [i, name] of NAMES.entries()) await front!.ok('create_session', { node: name, root: join(base, name, 'app'), name: `net${i}` });
    expect((await listing()).sessions.map((s) => `${s.node}:${s.name}`).sort()).toEqual(['tabcrew-0:net0', 'tabcrew-1:net1', 'tabcrew-2:net2']);
    expect(await front!.ok('create_agent', { node: 'tabcrew-0', session: 'net0' })).toMatchObject({ agent: 'tabcrew-0/Agent_1', node: 'tabcrew-0' });
    const r = await front!.ok('send_message_to_agent', { agent: 'tabcrew-0/Agent_1', message: 'across a veth', wait_for_reply: true });
    expect(r).toMatchObject({ delivered: 'confirmed', reply: expect.stringMatching(/^Stand-in reply 1/) });
    // The node listens on its namespace's address only: from here it is reached over the veth.
    const nodes = JSON.parse(
      (
        await run(
          process.execPath,
          [
            CLI,
            'nodes',
            '--json',
            '--runtime-dir',
            join(base, 'cli-run'),
            '--nodes-from',
            `dns-srv:${SRV}`,
            '--dns-server',
            box(9).addr,
            '--node-token-file',
            `*=${tokenFile}`,
            '--node-fingerprint-dir',
            fpDir,
          ],
          { env },
        )
      ).stdout,
    ).nodes as { node: string; state: string; url: string }[];
    expect(nodes.map((n) => [n.node, n.state, n.url]).sort()).toEqual(NAMES.map((n) => [n, 'up', `https://${n}.crew.test:${PORT}/mcp`]));
  });

  it('a node whose namespace is removed goes down without failing the others, and comes back with its namespace, server and SRV record', async () => {
    await stop(procs.get('tabcrew-2'));
    removeBox(2);
    await startDns(['tabcrew-0', 'tabcrew-1']);
    const down = await waitFor('tabcrew-2', false);
    expect(down.error).toMatch(/tabcrew-2/);
    const l = await listing();
    expect(l.nodes.filter((n) => n.ok).map((n) => n.node)).toEqual(['local', 'tabcrew-0', 'tabcrew-1']);
    expect(await front!.ok('get_session_status', { session: 'net0' })).toMatchObject({
      node: 'tabcrew-0',
      agents: [expect.objectContaining({ agent: 'tabcrew-0/Agent_1' })],
    });
    makeBox(2);
    await startNode(2);
    await startDns(NAMES);
    await waitFor('tabcrew-2', true);
    expect((await listing()).sessions.map((s) => s.node).sort()).toEqual(['tabcrew-0', 'tabcrew-1', 'tabcrew-2']);
  }, 90_000);
});
