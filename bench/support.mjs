/**
 * What the bench scenarios share: the run context (temp dirs, the stand-in agent, cleanup),
 * statistics, tmux on a private socket, the built tabcrew in-process, and the real server
 * over stdio with the MCP SDK client.
 */
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

export const REPO = resolve(import.meta.dirname, '..');
export const CLI = join(REPO, 'dist', 'cli.js');
export const STAND_IN = join(REPO, 'bench', 'stand-in-claude.mjs');

// ---- statistics ---------------------------------------------------------------------------

export function quantile(values, q) {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  // nearest rank: p99 of 100 samples is the 99th smallest
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}
export const median = (values) => {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
export const round = (v, digits = 1) => (v === null || !Number.isFinite(v) ? v : Math.round(v * 10 ** digits) / 10 ** digits);
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Times `fn` once, in milliseconds. */
export async function time(fn) {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

// ---- run context ----------------------------------------------------------------------------

/**
 * One bench run: a private temp tree (HOME for every agent, state/log/runtime dirs),
 * the tmux sockets and processes it started, and a deadline. Everything is undone by
 * `cleanup()`, which run.mjs calls on every exit path.
 */
export class RunContext {
  constructor({ deadlineMs }) {
    this.started = Date.now();
    this.deadline = this.started + deadlineMs;
    this.base = realpathSync(mkdtempSync(join(tmpdir(), 'tabcrew-bench-')));
    this.home = join(this.base, 'home');
    mkdirSync(this.home);
    // In a folder of its own, which every agent's sandbox is told to show read-write: the
    // stand-ins write their start-ups there from inside it.
    this.standInLogDir = join(this.base, 'stand-in');
    mkdirSync(this.standInLogDir);
    this.standInLog = join(this.standInLogDir, 'stand-in.log');
    this.keyFile = join(this.base, 'state.key');
    this.id = `${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
    this.sockets = new Set();
    this.servers = new Set();
    this.cleanups = [];
    this.shared = {}; // what one scenario leaves for the next (the fleet, a server)
  }

  remainingMs() {
    return this.deadline - Date.now();
  }

  /** A fresh tmux socket name, killed at cleanup. */
  socket(tag) {
    const s = `tabcrew-bench-${this.id}-${tag}`;
    this.sockets.add(s);
    return s;
  }

  /** A fresh set of tabcrew dirs under the run's temp tree. */
  dirs(tag) {
    const d = join(this.base, tag);
    return { state: join(d, 'state'), logs: join(d, 'logs'), runtime: join(d, 'runtime') };
  }

  /** A session root (an existing directory) under the run's temp tree. */
  root(tag) {
    const r = join(this.base, 'roots', tag);
    mkdirSync(r, { recursive: true });
    return r;
  }

  /**
   * The environment of every tabcrew and agent the bench starts: the caller's, without
   * anything that would reach the developer's own Claude Code, tmux or tabcrew, with the
   * run's HOME.
   */
  env(extra = {}) {
    const env = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (v !== undefined && !/^(TMUX|TMUX_PANE|XDG_CONFIG_HOME|CLAUDECODE|CLAUDE_.*|ANTHROPIC_.*|TABCREW_.*|STAND_IN_.*)$/.test(k)) env[k] = v;
    }
    return {
      ...env,
      HOME: this.home,
      XDG_CONFIG_HOME: join(this.home, '.config'),
      // The state key: a file in the run's tree, never the developer's key file or Keychain.
      TABCREW_KEY_SOURCE: 'file',
      TABCREW_KEY_FILE: this.keyFile,
      STAND_IN_TURN_MS: process.env.STAND_IN_TURN_MS ?? '200',
      STAND_IN_LOG: this.standInLog,
      TABCREW_SANDBOX_ALLOW: `${this.standInLogDir}:rw`,
      ...extra,
    };
  }

  onCleanup(fn) {
    this.cleanups.push(fn);
  }

  async cleanup() {
    for (const server of [...this.servers]) await server.close().catch(() => undefined);
    for (const fn of this.cleanups.reverse())
      await Promise.resolve()
        .then(fn)
        .catch(() => undefined);
    const pids = [];
    for (const s of this.sockets) {
      try {
        pids.push(...tmuxSync(s, 'list-panes', '-a', '-F', '#{pane_pid}').split('\n').filter(Boolean).map(Number));
        tmuxSync(s, 'kill-server');
      } catch {
        // never started, or already gone
      }
    }
    await waitForExit(pids, 8000);
    // tmux may leave its socket file behind; these names are the bench's own.
    const tmuxDir = join(process.env.TMUX_TMPDIR || '/tmp', `tmux-${process.getuid?.() ?? 0}`);
    for (const s of this.sockets) rmSync(join(tmuxDir, s), { force: true });
    // BENCH_KEEP=<dir>: the run's files (logs, the stand-ins' log) are kept there, for reading a run's timeline.
    if (process.env.BENCH_KEEP) cpSync(this.base, process.env.BENCH_KEEP, { recursive: true, filter: (src) => !/\.sock$/.test(src) });
    rmSync(this.base, { recursive: true, force: true });
  }
}

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
};

/** Waits (bounded) for processes to end; kills what is left. */
export async function waitForExit(pids, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (pids.some(alive) && Date.now() < deadline) await sleep(100);
  for (const pid of pids.filter(alive)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // ended meanwhile
    }
  }
}

// ---- tmux -------------------------------------------------------------------------------------

export function tmuxSync(socket, ...args) {
  return execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function tmux(socket, ...args) {
  return new Promise((resolve, reject) => {
    execFile('tmux', ['-L', socket, ...args], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
  });
}

// ---- CPU time, from /proc (Linux) -------------------------------------------------------------

/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in these ticks. */
const TICKS_PER_S = 100;

/**
 * One process's /proc/<pid>/stat: its parent, its own CPU ticks (utime + stime) and those of
 * the children it has reaped (cutime + cstime). Fields after the command name: ppid is the
 * 2nd, utime to cstime the 12th to 15th. Throws when the process or /proc is not there.
 */
function statOf(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return { ppid: Number(f[1]), own: Number(f[11]) + Number(f[12]), reaped: Number(f[13]) + Number(f[14]) };
}

/** Every process now: pid, parent, and its CPU ticks with those of the children it has reaped. */
function processTable() {
  const procs = [];
  for (const name of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue;
    try {
      const st = statOf(name);
      procs.push({ pid: Number(name), ppid: st.ppid, ticks: st.own + st.reaped });
    } catch {
      // gone between the listing and the read
    }
  }
  return procs;
}

/**
 * CPU time so far (ms) of the given processes and everything under them, with the children
 * each has reaped (hooks, tmux clients). The whole tree, not the root alone: an agent may
 * run under a sandbox or a launcher that reaps nothing until the agent ends. null without /proc.
 */
export function treeCpuMs(pids) {
  try {
    const procs = processTable();
    const inTree = new Set(pids);
    for (let grew = true; grew;) {
      grew = false;
      for (const p of procs) if (!inTree.has(p.pid) && inTree.has(p.ppid)) grew = inTree.add(p.pid) !== undefined;
    }
    const ticks = procs.filter((p) => inTree.has(p.pid)).reduce((sum, p) => sum + p.ticks, 0);
    return (ticks * 1000) / TICKS_PER_S;
  } catch {
    return null;
  }
}

/** CPU time so far (ms) of one process alone, without the children it has reaped. null without /proc. */
export function soloCpuMs(pid) {
  try {
    return (statOf(pid).own * 1000) / TICKS_PER_S;
  } catch {
    return null;
  }
}

/**
 * CPU time so far (ms) of this process and the children it has reaped (the tmux clients an
 * in-process supervisor runs). null without /proc.
 */
export function ownCpuMs() {
  try {
    const st = statOf('self');
    return ((st.own + st.reaped) * 1000) / TICKS_PER_S;
  } catch {
    return null;
  }
}

// ---- the built tabcrew, in-process -------------------------------------------------------------

export async function dist(path) {
  return import(pathToFileURL(join(REPO, 'dist', path)).href);
}

/**
 * tabcrew's layers wired as `serve` wires them (openStack), in this process, so the
 * bench can read `backend.calls`. Agents inherit this process's environment, which
 * run.mjs has already pointed at the run's HOME.
 */
export async function openInProcess(ctx, { dirs, socket, overrides = {} }) {
  const { openStack } = await dist('cli/stack.js');
  const stack = await openStack(
    await benchConfig({ dirs, socket, keyFile: ctx.keyFile, overrides: { sandboxAllow: [`${ctx.standInLogDir}:rw`], ...overrides } }),
  );
  ctx.onCleanup(() => stack.close());
  return stack;
}

/** tabcrew's Config for a bench stack: private dirs and socket, the stand-in, limits lifted. */
export async function benchConfig({ dirs, socket, keyFile, overrides = {} }) {
  const { defaultConfig, withResolvedPaths } = await dist('config.js');
  return withResolvedPaths({
    ...defaultConfig(),
    backend: 'tmux',
    stateDir: dirs.state,
    logDir: dirs.logs,
    runtimeDir: dirs.runtime,
    tmuxSocket: socket,
    claudePath: STAND_IN,
    maxAgents: 500,
    maxSessions: 50,
    startTimeoutS: 30,
    autoRecover: false,
    rateLimitBurst: 1000,
    rateLimitPerMinute: 1000,
    keySource: 'file',
    keyFile,
    ...overrides,
  });
}

// ---- the real server, over stdio ------------------------------------------------------------------

/** `dist/cli.js serve` on private dirs and a private tmux socket, its agents the stand-in. */
export function serveArgs(dirs, socket) {
  return [CLI, 'serve', '--state-dir', dirs.state, '--log-dir', dirs.logs, '--runtime-dir', dirs.runtime, '--tmux-socket', socket, '--claude-path', STAND_IN];
}

/**
 * `node dist/cli.js serve` on the given dirs and socket, with the MCP SDK client. The
 * flags lift the limits a benchmark would hit (agents, message rate).
 */
export async function startServer(ctx, { dirs, socket, args = [], env = {}, label = 'server' }) {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [
      ...(process.env.BENCH_SERVER_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_SERVER_PROF}`] : []),
      ...serveArgs(dirs, socket),
      '--max-agents',
      '500',
      '--max-sessions',
      '50',
      '--rate-limit-burst',
      '1000',
      '--rate-limit-per-minute',
      '1000',
      '--start-timeout',
      '30',
      ...args,
    ],
    env: ctx.env(env),
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d) => (stderr += d.toString()));
  const client = new Client({ name: 'tabcrew-bench', version: '1.0.0' }, { capabilities: {} });
  try {
    await client.connect(transport, { timeout: 30_000 });
  } catch (e) {
    await transport.close().catch(() => undefined);
    throw new Error(`${label} did not start: ${e.message}; stderr: ${stderr.trim().slice(-500)}`, { cause: e });
  }
  const server = {
    client,
    pid: transport.pid,
    label,
    stderr: () => stderr,
    async call(name, args = {}, timeout = 120_000) {
      return client.callTool({ name, arguments: args }, undefined, { timeout, resetTimeoutOnProgress: true });
    },
    async ok(name, args = {}, timeout = 120_000) {
      const r = await server.call(name, args, timeout);
      if (r.isError) throw new Error(`${name} failed: ${r.content?.[0]?.text ?? JSON.stringify(r.content)}`);
      return r.structuredContent;
    },
    async close() {
      ctx.servers.delete(server);
      await client.close().catch(() => undefined);
      if (server.pid) await waitForExit([server.pid], 3000);
    },
  };
  ctx.servers.add(server);
  return server;
}

/** Resident memory of a process in MB, from /proc/<pid>/status VmRSS (Linux). */
export function rssMb(pid) {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) / 1024;
}

/** Creates agents in batches of `parallel` concurrent calls; resolves with their results. */
export async function inBatches(count, parallel, make) {
  const out = [];
  for (let i = 0; i < count; i += parallel) {
    const n = Math.min(parallel, count - i);
    out.push(...(await Promise.all(Array.from({ length: n }, (_, k) => make(i + k)))));
  }
  return out;
}

/** The @modelcontextprotocol/server-everything entry point, or undefined when it is not installed. */
export function findEverything() {
  const candidates = [
    process.env.BENCH_EVERYTHING_DIR && join(process.env.BENCH_EVERYTHING_DIR, 'node_modules/@modelcontextprotocol/server-everything'),
    process.env.BENCH_EVERYTHING_DIR,
    join(REPO, 'node_modules/@modelcontextprotocol/server-everything'),
    '/tmp/bench-everything/node_modules/@modelcontextprotocol/server-everything',
  ].filter(Boolean);
  for (const dir of candidates) {
    const entry = join(dir, 'dist', 'index.js');
    if (existsSync(entry)) {
      let version = 'unknown';
      try {
        version = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version;
      } catch {
        /* keep unknown */
      }
      return { entry, version, dir };
    }
  }
  return undefined;
}
