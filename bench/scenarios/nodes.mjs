/**
 * nodes_status_3x8_ratio: `get_session_status` of every node at once (no session: the
 * front asks its 3 nodes in parallel and merges) against the slowest node's own status
 * (`get_session_status {session}` of that node's session, routed by the same front),
 * interleaved in one run, medians. Each node is a real OpenSSH sshd on 127.0.0.1 in its
 * own mount/PID/UTS namespace (bench/ssh-lab.mjs, as the crew tests make them) running
 * this checkout's `tabcrew serve` with 8 stand-in agents in one session. The ratio is what
 * the fan-out costs over one node: 1.0 when the nodes are asked truly side by side, on a
 * machine with a core for each node (here the 3 sshd, 3 node servers and the front share it).
 * nodes_status_3x8_vs_parallel_ratio: the same 'all' ÷ the 3 single-node calls sent at once
 * by the client, same rounds: what the front adds over asking the 3 nodes side by side, the
 * machine's share taken out (as nodes_http_status_vs_parallel_ratio over HTTP).
 *
 * nodes_http_status_vs_parallel_ratio: the same crew over HTTP links: 3 local
 * `serve --http --tls --no-stdio` nodes (own state, tmux server and self-signed
 * certificate, pinned by the front), the front given `--node nK=https://127.0.0.1:PORT`;
 * every node's status through the front ÷ the 3 single-node calls sent at once by the
 * client, medians: what the front's fan-out adds over asking the 3 nodes side by side.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { sshLab, sshLabMissing } from '../ssh-lab.mjs';
import { CLI, STAND_IN, inBatches, median, round, sleep, startServer } from '../support.mjs';

const NODES = 3;
const AGENTS = 8;
const WARMUP = 3;
const ROUNDS = 20;
const STATE_KEY = Buffer.alloc(32, 9).toString('base64');
const METRICS = [
  'nodes_status_3x8_ratio',
  'nodes_status_3x8_vs_parallel_ratio',
  'nodes_status_3x8_all_ms',
  'nodes_status_3x8_slowest_node_ms',
  'nodes_status_3x8_concurrent_singles_ms',
];
const HTTP_TOKEN = `tc_${'b'.repeat(43)}`;

/** What a node's shell runs: its settings from a 0600 env file, then this checkout's tabcrew with the stand-in. */
function nodeCommand(host) {
  const env = [
    `TABCREW_STATE_KEY=${STATE_KEY}`,
    `PATH=${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
    `STAND_IN_TURN_MS=${process.env.STAND_IN_TURN_MS ?? '200'}`,
    'STAND_IN_LOG=/tmp/stand-in.log',
    'TERM=xterm-256color',
  ];
  mkdirSync(join(host.root, 'app'), { recursive: true });
  writeFileSync(join(host.root, 'node.env'), `${env.join('\n')}\n`, { mode: 0o600 });
  return [
    'set -a; . /root/node.env; set +a;',
    `exec ${process.execPath} ${CLI} serve --backend tmux --tmux-socket ${host.name}`,
    '--state-dir /root/state --log-dir /root/logs --runtime-dir /root/runtime',
    `--claude-path ${STAND_IN} --max-agents 500 --rate-limit-burst 1000 --rate-limit-per-minute 1000 --start-timeout 30`,
  ].join(' ');
}

/** Every node up in the front's list_sessions (bounded: 60 s). */
async function allUp(front) {
  let up;
  for (let i = 0; i < 120; i++) {
    up = await front.ok('list_sessions');
    if (up.nodes.length && up.nodes.every((n) => n.ok)) return;
    await sleep(500);
  }
  const down = up.nodes.filter((n) => !n.ok);
  throw new Error(`nodes not up after 60 s: ${down.map((n) => `${n.node}: ${n.error}`).join('; ')}`);
}

/** One session of AGENTS idle stand-in agents on each node, made through the front. */
async function crewOf(front, places) {
  const sessions = [];
  for (const { node, root } of places) {
    const s = await front.ok('create_session', { node, root, name: `bench-${node}` });
    sessions.push({ node, session: s.session_id });
  }
  await Promise.all(
    sessions.map(async ({ node, session }) => {
      const made = await inBatches(AGENTS, AGENTS, () => front.ok('create_agent', { session }, 120_000));
      const notIdle = made.filter((a) => a.status !== 'idle');
      if (notIdle.length) throw new Error(`${node}: ${notIdle.length} agents did not reach idle: ${notIdle.map((a) => `${a.agent} ${a.status}`).join('; ')}`);
    }),
  );
  return sessions;
}

/**
 * The interleaved rounds: every node's status at once through the front ('all'), the three
 * single-node calls sent at once by the client ('together'), and each node alone.
 */
async function measure(front, sessions) {
  const all = [];
  const single = new Map(sessions.map((s) => [s.node, []]));
  // 'together': the three single-node calls sent at once by the client: what asking three
  // nodes at the same moment costs on this machine, whoever fans out.
  const together = [];
  const kinds = ['all', 'together', ...sessions.map((s) => s.node)];
  for (let round_ = 0; round_ < WARMUP + ROUNDS; round_++) {
    // Rotate who goes first, so neither side always runs on a warmer machine.
    const order = kinds.map((_, i) => kinds[(i + round_) % kinds.length]);
    for (const kind of order) {
      const t0 = performance.now();
      if (kind === 'all') {
        const r = await front.ok('get_session_status');
        const ms = performance.now() - t0;
        const agents = r.sessions.reduce((n, s) => n + s.agents.length, 0);
        if (agents !== NODES * AGENTS || !r.nodes.every((n) => n.ok)) throw new Error(`status of all shows ${agents} agents; nodes ${JSON.stringify(r.nodes)}`);
        if (round_ >= WARMUP) all.push(ms);
      } else if (kind === 'together') {
        await Promise.all(sessions.map((s) => front.ok('get_session_status', { session: s.session })));
        if (round_ >= WARMUP) together.push(performance.now() - t0);
      } else {
        const r = await front.ok('get_session_status', { session: sessions.find((s) => s.node === kind).session });
        const ms = performance.now() - t0;
        if (r.agents.length !== AGENTS) throw new Error(`${kind} status shows ${r.agents.length} agents`);
        if (round_ >= WARMUP) single.get(kind).push(ms);
      }
    }
  }
  return { allMs: median(all), togetherMs: median(together), perNode: [...single].map(([node, t]) => [node, median(t)]) };
}

async function overSsh(ctx, report) {
  const missing = sshLabMissing();
  if (missing) {
    for (const m of METRICS) report(m, null, m.endsWith('ratio') ? 'x' : 'ms', { note: `not measured: real sshd hosts ${missing}` });
    return;
  }
  const lab = sshLab(join(ctx.base, 'ssh-lab'));
  ctx.onCleanup(() => lab.stop());
  const hosts = [];
  for (let i = 1; i <= NODES; i++) hosts.push(await lab.addHost(`n${i}`));
  const nodesFile = join(ctx.base, 'nodes.json');
  writeFileSync(nodesFile, JSON.stringify({ nodes: hosts.map((h) => ({ name: h.name, url: h.url, command: nodeCommand(h) })) }));
  const front = await startServer(ctx, {
    dirs: ctx.dirs('nodes-front'),
    socket: ctx.socket('nodes-front'),
    args: ['--nodes-file', nodesFile, '--ssh-config', lab.sshConfig],
    label: 'nodes front',
  });
  await allUp(front);
  const sessions = await crewOf(
    front,
    hosts.map((h) => ({ node: h.name, root: '/root/app' })),
  );
  const { allMs, togetherMs, perNode } = await measure(front, sessions);
  const [slowNode, slowMs] = perNode.reduce((a, b) => (b[1] > a[1] ? b : a));
  const detail = `${NODES} sshd nodes × ${AGENTS} stand-in agents, ${ROUNDS} interleaved rounds; per node ${perNode.map(([n, ms]) => `${n} ${round(ms)}`).join(', ')} ms`;
  report('nodes_status_3x8_ratio', round(allMs / slowMs, 2), 'x', { detail: `all ${round(allMs)} ms / slowest node (${slowNode}) ${round(slowMs)} ms` });
  // The issue's definition, as the HTTP figure: what the front's fan-out adds over the client asking the 3 nodes side by side.
  report('nodes_status_3x8_vs_parallel_ratio', round(allMs / togetherMs, 2), 'x', {
    detail: `all through the front ${round(allMs)} ms / the ${NODES} single-node calls sent at once ${round(togetherMs)} ms`,
  });
  report('nodes_status_3x8_all_ms', round(allMs), 'ms', { detail });
  report('nodes_status_3x8_concurrent_singles_ms', round(togetherMs), 'ms', {
    detail: `the ${NODES} single-node calls sent at once by the client (${round(togetherMs / slowMs, 2)}× the slowest node alone): the machine's share of the ratio`,
  });
  report('nodes_status_3x8_slowest_node_ms', round(slowMs), 'ms', { detail: `${slowNode}, through the front` });
  await front.close();
  // Its 24 agents would otherwise share the machine with the HTTP crew's.
  await lab.stop();
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** One `serve --http 127.0.0.1:PORT --tls --no-stdio` node; resolves with its certificate's fingerprint once it serves. */
async function startHttpNode(ctx, name) {
  const dirs = ctx.dirs(`http-${name}`);
  mkdirSync(dirs.state, { recursive: true, mode: 0o700 });
  // Every node has the one token (as a mounted Secret gives each pod the same).
  writeFileSync(join(dirs.state, 'http-token'), `${HTTP_TOKEN}\n`, { mode: 0o600 });
  const port = await freePort();
  const args = [
    CLI,
    'serve',
    '--no-stdio',
    '--http',
    `127.0.0.1:${port}`,
    '--tls',
    '--state-dir',
    dirs.state,
    '--log-dir',
    dirs.logs,
    '--runtime-dir',
    dirs.runtime,
  ];
  args.push('--tmux-socket', ctx.socket(`http-${name}`), '--claude-path', STAND_IN, '--max-agents', '500', '--rate-limit-burst', '1000');
  args.push('--rate-limit-per-minute', '1000', '--start-timeout', '30');
  const proc = spawn(process.execPath, args, { env: ctx.env(), stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr += d.toString()));
  ctx.onCleanup(async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await Promise.race([exited, sleep(5000).then(() => proc.kill('SIGKILL'))]);
  });
  for (let i = 0; i < 60; i++) {
    const m = /SHA-256 fingerprint ([0-9A-F:]{95})/.exec(stderr);
    if (m) return { name, url: `https://127.0.0.1:${port}`, fingerprint: m[1], root: ctx.root(`http-${name}`) };
    if (proc.exitCode !== null) break;
    await sleep(500);
  }
  throw new Error(`http node ${name} did not start: ${stderr.trim().slice(-500)}`);
}

async function overHttp(ctx, report) {
  const nodes = await Promise.all(Array.from({ length: NODES }, (_, i) => startHttpNode(ctx, `h${i + 1}`)));
  const tokenFile = join(ctx.base, 'http-node-token');
  writeFileSync(tokenFile, `${HTTP_TOKEN}\n`, { mode: 0o600 });
  const front = await startServer(ctx, {
    dirs: ctx.dirs('nodes-http-front'),
    socket: ctx.socket('nodes-http-front'),
    args: [
      ...nodes.flatMap((n) => ['--node', `${n.name}=${n.url}`, '--node-fingerprint', `${n.name}=${n.fingerprint}`]),
      '--node-token-file',
      `*=${tokenFile}`,
    ],
    label: 'nodes http front',
  });
  await allUp(front);
  const sessions = await crewOf(
    front,
    nodes.map((n) => ({ node: n.name, root: n.root })),
  );
  const { allMs, togetherMs, perNode } = await measure(front, sessions);
  const detail = `${NODES} local https nodes (serve --http --tls, fingerprints pinned) × ${AGENTS} stand-in agents, ${ROUNDS} interleaved rounds; per node ${perNode.map(([n, ms]) => `${n} ${round(ms)}`).join(', ')} ms`;
  report('nodes_http_status_vs_parallel_ratio', round(allMs / togetherMs, 2), 'x', {
    detail: `all through the front ${round(allMs)} ms / the ${NODES} single-node calls sent at once ${round(togetherMs)} ms`,
  });
  report('nodes_http_status_3x8_all_ms', round(allMs), 'ms', { detail });
  report('nodes_http_status_3x8_concurrent_singles_ms', round(togetherMs), 'ms', {
    detail: `the ${NODES} single-node calls sent at once by the client, same rounds`,
  });
  await front.close();
}

export default {
  name: 'nodes',
  standIn: true,
  async run(ctx, report) {
    // Each link on its own: an sshd lab this machine cannot make leaves the HTTP figures.
    await overSsh(ctx, report);
    await overHttp(ctx, report);
  },
};
