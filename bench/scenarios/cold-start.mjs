/**
 * cold_start_tools_list_ms: from spawn() of `node dist/cli.js serve` to the answer of
 * `tools/list` (initialize → answer → initialized + tools/list → answer), median of 10,
 * each on an empty state dir. The same for @modelcontextprotocol/server-everything
 * (stdio), in the same run, interleaved with tabcrew's runs so both see the same load;
 * the ratio is median / median. `node -e 0` is measured alongside as the floor, and
 * `tabcrew --version` beside it; cold_start_vs_node_ratio and version_vs_node_ratio divide
 * by that floor (issue 10's targets, ratios because the machine's speed drifts).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { CLI, findEverything, median, round, serveArgs } from '../support.mjs';

const RUNS = 10;

/** Spawns `argv`, speaks just enough MCP (newline-delimited JSON-RPC) to get tools/list. */
function toolsList(argv, env, timeoutMs = 15_000) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], env });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${argv.join(' ')}: no tools/list answer within ${timeoutMs} ms; stderr: ${stderr.slice(-300)}`));
    }, timeoutMs);
    let buf = '';
    let stderr = '';
    const send = (m) => child.stdin.write(`${JSON.stringify(m)}\n`);
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.on('error', () => {});
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.stdout.on('data', (d) => {
      buf += d;
      for (let i; (i = buf.indexOf('\n')) >= 0;) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        let m;
        try {
          m = JSON.parse(line);
        } catch {
          continue;
        }
        if (m.id === 1) {
          send({ jsonrpc: '2.0', method: 'notifications/initialized' });
          send({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
        } else if (m.id === 2) {
          const ms = performance.now() - t0;
          clearTimeout(timer);
          child.on('exit', () => resolve({ ms, tools: m.result?.tools?.length ?? 0 }));
          child.stdin.end();
          setTimeout(() => child.kill('SIGKILL'), 2000).unref();
        }
      }
    });
    send({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'tabcrew-bench', version: '1.0.0' } },
    });
  });
}

function timed(args, env) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    spawn(process.execPath, args, { env, stdio: 'ignore' }).on('exit', () => resolve(performance.now() - t0));
  });
}
const nodeFloor = (env) => timed(['-e', '0'], env);

export default {
  name: 'cold-start',
  standIn: false,
  async run(ctx, report) {
    const env = ctx.env();
    const socket = ctx.socket('cold');
    let n = 0;
    const tabcrew = () => {
      const dirs = ctx.dirs(`cold-${n++}`);
      // No agents: the server never starts tmux; the socket is private all the same.
      return toolsList([process.execPath, ...serveArgs(dirs, socket)], env);
    };
    const everything = findEverything();
    const ref = () => toolsList([process.execPath, everything.entry, 'stdio'], { ...env, HOME: join(ctx.base, 'home') });

    // One warm-up each (disk cache), then interleaved runs, alternating which goes first.
    await tabcrew();
    if (everything) await ref();
    const t = [];
    const e = [];
    const floor = [];
    const version = [];
    for (let i = 0; i < RUNS; i++) {
      const pair = everything ? (i % 2 ? [ref, tabcrew] : [tabcrew, ref]) : [tabcrew];
      for (const f of pair) {
        const { ms } = await f();
        (f === tabcrew ? t : e).push(ms);
      }
      floor.push(await nodeFloor(env));
      version.push(await timed([CLI, '--version'], env));
    }
    report('cold_start_tools_list_ms', round(median(t)), 'ms', { detail: `min ${round(Math.min(...t))}, max ${round(Math.max(...t))}` });
    report('cold_start_node_floor_ms', round(median(floor)), 'ms', { detail: 'node -e 0, same run' });
    // The machine's speed drifts from day to day: these two ratios to `node -e 0` are the targets (issue 10).
    report('cold_start_vs_node_ratio', round(median(t) / median(floor), 2), 'ratio', {
      detail: `median ${round(median(t))} / node -e 0 ${round(median(floor))}`,
    });
    report('version_ms', round(median(version)), 'ms', { detail: '`tabcrew --version`, spawn to exit' });
    report('version_vs_node_ratio', round(median(version) / median(floor), 2), 'ratio', {
      detail: `median ${round(median(version))} / node -e 0 ${round(median(floor))}`,
    });
    if (everything) {
      report('cold_start_everything_ms', round(median(e)), 'ms', { detail: `@modelcontextprotocol/server-everything ${everything.version}` });
      report('cold_start_vs_everything_ratio', round(median(t) / median(e), 2), 'ratio', {
        detail: `median of per-pair ratios ${round(median(t.map((x, i) => x / e[i])), 2)}`,
      });
    } else {
      report('cold_start_everything_ms', null, 'ms', { note: 'server-everything not found: set BENCH_EVERYTHING_DIR (see bench/README.md)' });
      report('cold_start_vs_everything_ratio', null, 'ratio', { note: 'server-everything not found' });
    }
  },
};
