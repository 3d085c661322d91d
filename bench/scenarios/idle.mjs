/**
 * What a quiet crew costs: 16 idle stand-in agents, a `tabcrew serve` whose MCP client says
 * nothing, for BENCH_IDLE_S seconds (default 60), then a claude-squad-style loop over the
 * same 16 windows for as long.
 *
 * idle_cpu_16_agents_pct: CPU of the tabcrew server (with the tmux clients it ran and
 *   reaped) and of its tmux server, over the window, as % of one core. The agents' own
 *   processes are not counted: they are Claude Code's cost, not the supervisor's.
 * idle_squad_cpu_16_agents_pct: the same for the loop claude-squad runs (every 500 ms, a
 *   `tmux capture-pane -p -e -J` of each window): the tmux clients it started and the tmux
 *   server's share; the loop's own process is not counted (claude-squad's is a Go ticker).
 * idle_cpu_vs_squad_ratio: tabcrew ÷ the loop. Read from /proc/<pid>/stat (utime, stime,
 *   cutime, cstime), clock ticks of 10 ms.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { inBatches, round, sleep, startServer, tmuxSync } from '../support.mjs';

const N = 16;
const WINDOW_S = Number(process.env.BENCH_IDLE_S ?? 60);
const SQUAD_TICK_MS = 500;
const TICK_S = 0.01; // USER_HZ is 100 on Linux

/** Seconds of CPU of a process: its own, plus (with children) what its reaped children used. */
function cpuSeconds(pid, { children }) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the command: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14).
  const own = Number(f[11]) + Number(f[12]);
  return (children ? own + Number(f[13]) + Number(f[14]) : own) * TICK_S;
}

/** The loop claude-squad runs, in a child process of its own so its children's CPU is its alone. */
const SQUAD_LOOP = `
const { execFileSync } = require('node:child_process');
const { readFileSync } = require('node:fs');
const [socket, seconds, tick, ...windows] = process.argv.slice(1);
const end = Date.now() + Number(seconds) * 1000;
const step = () => {
  for (const w of windows) execFileSync('tmux', ['-L', socket, 'capture-pane', '-p', '-e', '-J', '-t', w], { stdio: ['ignore', 'ignore', 'ignore'] });
  if (Date.now() < end) setTimeout(step, Number(tick));
  else {
    const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
    process.stdout.write(String((Number(f[13]) + Number(f[14])) * ${TICK_S}));
  }
};
step();
`;

function squadLoop(socket, windows) {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['-e', SQUAD_LOOP, socket, String(WINDOW_S), String(SQUAD_TICK_MS), ...windows],
      { timeout: (WINDOW_S + 30) * 1000 },
      (err, out) => (err ? reject(err) : resolve(Number(out))),
    );
  });
}

export default {
  name: 'idle',
  standIn: true,
  async run(ctx, report) {
    const dirs = ctx.dirs('idle');
    const socket = ctx.socket('idle');
    const server = await startServer(ctx, { dirs, socket, label: 'idle server' });
    await server.ok('create_session', { root: ctx.root('idle'), name: 'idle' });
    await inBatches(N, 8, () => server.ok('create_agent', { session: 'idle' }));
    const tmuxPid = Number(tmuxSync(socket, 'display-message', '-p', '#{pid}').trim());
    const windows = tmuxSync(socket, 'list-windows', '-a', '-F', '#{window_id}').split('\n').filter(Boolean);
    // Let start-up work (first status reads, saves) settle before the quiet window.
    await sleep(5000);

    const s0 = cpuSeconds(server.pid, { children: true });
    const t0 = cpuSeconds(tmuxPid, { children: false });
    const w0 = performance.now();
    await sleep(WINDOW_S * 1000);
    const wall = (performance.now() - w0) / 1000;
    const serverCpu = cpuSeconds(server.pid, { children: true }) - s0;
    const tmuxCpu = cpuSeconds(tmuxPid, { children: false }) - t0;
    const tabcrewPct = ((serverCpu + tmuxCpu) / wall) * 100;

    const q0 = cpuSeconds(tmuxPid, { children: false });
    const q1 = performance.now();
    const loopChildren = await squadLoop(socket, windows);
    const squadWall = (performance.now() - q1) / 1000;
    const squadPct = ((loopChildren + cpuSeconds(tmuxPid, { children: false }) - q0) / squadWall) * 100;

    report('idle_cpu_16_agents_pct', round(tabcrewPct, 2), '%', {
      detail: `over ${round(wall)} s: server ${round(serverCpu * 1000)} ms, tmux server ${round(tmuxCpu * 1000)} ms CPU`,
    });
    report('idle_squad_cpu_16_agents_pct', round(squadPct, 2), '%', {
      detail: `capture-pane of ${windows.length} windows every ${SQUAD_TICK_MS} ms, ${round(squadWall)} s`,
    });
    report('idle_cpu_vs_squad_ratio', squadPct > 0 ? round(tabcrewPct / squadPct, 3) : null, 'x');
    await server.close();
  },
};
