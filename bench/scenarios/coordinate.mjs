/**
 * coordinate_parallel_{16,64}_ratio: coordinate_agents in parallel mode to 16 (then 64)
 * fleet agents, wall time from the call to the last reply collected, divided by the
 * slowest single agent's turn measured alone just before (send_message_to_agent with
 * wait_for_reply, to 3 other idle agents). 1.0 would be a perfect fan-out; what is above
 * it is typing into many tabs at once and collecting many replies. In-process (the
 * fleet's supervisor), stand-in agents.
 *
 * coordinate_parallel_{16,64}_agents_cpu_ratio: the CPU time the agents themselves used
 * during the fan-out (each stand-in and the hook processes it ran, from /proc), spread
 * over every core, ÷ the same slowest single turn: the floor no supervisor can go below
 * on this machine. null where /proc is not there.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { growFleet } from '../fleet.mjs';
import { round, tmuxSync } from '../support.mjs';

const SINGLES = 3;
/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in these ticks. */
const TICKS_PER_S = 100;

export default {
  name: 'coordinate',
  standIn: true,
  async run(ctx, report) {
    for (const n of [16, 64]) {
      const f = await growFleet(ctx, n + SINGLES);
      const sup = f.stack.supervisor;
      let slowest = 0;
      for (let i = 0; i < SINGLES; i++) {
        const t0 = performance.now();
        const r = await sup.sendMessage(`Agent_${n + i + 1}`, { message: `Single turn ${i} before a fan-out to ${n}.`, wait_for_reply: true, timeout_s: 60 });
        if (r.reply === undefined) throw new Error(`single turn of Agent_${n + i + 1}: no reply (${r.note ?? ''})`);
        slowest = Math.max(slowest, performance.now() - t0);
      }
      const agents = Array.from({ length: n }, (_, i) => `Agent_${i + 1}`);
      const cpu0 = agentsCpuMs(f.socket);
      const t0 = performance.now();
      const run = await sup.coordinate({ session: f.session, mode: 'parallel', task: `Fan-out to ${n}: one line each.`, agents, timeout_s: 120 });
      const wall = performance.now() - t0;
      const cpu1 = agentsCpuMs(f.socket);
      if (run.state !== 'done') throw new Error(`fan-out to ${n}: ${run.state}: ${run.summary}`);
      report(`coordinate_parallel_${n}_ratio`, round(wall / slowest, 2), 'x', {
        detail: `${round(wall)} ms for ${n} agents ÷ slowest single turn ${round(slowest)} ms`,
      });
      const cpu = cpu0 === null || cpu1 === null ? null : cpu1 - cpu0;
      report(`coordinate_parallel_${n}_agents_cpu_ratio`, cpu === null ? null : round(cpu / cpus().length / slowest, 2), 'x', {
        detail:
          cpu === null
            ? 'not measured: no /proc'
            : `the agents (stand-ins and their hooks) used ${round(cpu)} ms of CPU, ${round(cpu / cpus().length)} ms on ${cpus().length} cores, ÷ ${round(slowest)} ms`,
      });
    }
  },
};

/**
 * CPU time so far of every program in the fleet's tabs and everything under them, with the
 * children each has reaped (its hooks). The whole tree, not the pane's own process: an agent
 * may run under a sandbox or a launcher that reaps nothing until the agent ends.
 */
function agentsCpuMs(socket) {
  try {
    const panes = new Set(tmuxSync(socket, 'list-panes', '-a', '-F', '#{pane_pid}').split('\n').filter(Boolean).map(Number));
    const procs = [];
    for (const name of readdirSync('/proc')) {
      if (!/^[0-9]+$/.test(name)) continue;
      try {
        // Fields after the command name: ppid is the 2nd; utime, stime, cutime, cstime the 12th to 15th.
        const f = readFileSync(`/proc/${name}/stat`, 'utf8').split(') ')[1].split(' ');
        procs.push({ pid: Number(name), ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) });
      } catch {
        // gone between the listing and the read
      }
    }
    const inTree = new Set(panes);
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
