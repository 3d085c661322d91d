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
 *
 * coordinate_parallel_{16,64}_vs_floor_ratio: wall ÷ max(slowest single turn, the agents'
 * CPU ÷ cores), issue 21's figure (target ≤ 1.15).
 *
 * coordinate_parallel_{16,64}_vs_cpu_bound_ratio: wall ÷ max(slowest single turn, the CPU
 * of everyone in the fan-out ÷ cores): the agents, tabcrew (this process, which runs the
 * supervisor, and the tmux clients it ran), the tmux server and the fleet's other agents. Near 1, the wall is the
 * machine's cores doing the work that had to be done; above it, cores sat idle or waited.
 * With the vs_floor ratio it splits what is above the floor into tabcrew's CPU and its waits.
 */
import { cpus } from 'node:os';
import { growFleet } from '../fleet.mjs';
import { ownCpuMs, round, soloCpuMs, tmuxSync, treeCpuMs } from '../support.mjs';

const SINGLES = 3;

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
      const tmuxPid = Number(tmuxSync(f.socket, 'display-message', '-p', '#{pid}').trim());
      const cpu0 = agentsCpuMs(f.socket);
      const own0 = ownCpuMs();
      const tmux0 = soloCpuMs(tmuxPid);
      const tree0 = treeCpuMs([tmuxPid]);
      const t0 = performance.now();
      const run = await sup.coordinate({ session: f.session, mode: 'parallel', task: `Fan-out to ${n}: one line each.`, agents, timeout_s: 120 });
      const wall = performance.now() - t0;
      const cpu1 = agentsCpuMs(f.socket);
      const own1 = ownCpuMs();
      const tmux1 = soloCpuMs(tmuxPid);
      const tree1 = treeCpuMs([tmuxPid]);
      if (run.state !== 'done') throw new Error(`fan-out to ${n}: ${run.state}: ${run.summary}`);
      report(`coordinate_parallel_${n}_ratio`, round(wall / slowest, 2), 'x', {
        detail: `${round(wall)} ms for ${n} agents ÷ slowest single turn ${round(slowest)} ms`,
      });
      const cpu = cpu0 === null || cpu1 === null ? null : cpu1 - cpu0;
      const floor = cpu === null ? null : Math.max(slowest, cpu / cpus().length);
      report(`coordinate_parallel_${n}_vs_floor_ratio`, floor === null ? null : round(wall / floor, 2), 'x', {
        detail: floor === null ? 'not measured: no /proc' : `${round(wall)} ms ÷ max(slowest single turn, the agents' CPU ÷ cores) = ${round(floor)} ms`,
      });
      const tabcrew = own0 === null || own1 === null ? null : own1 - own0;
      const tmux = tmux0 === null || tmux1 === null ? null : tmux1 - tmux0;
      // Everything else under the tmux server: the fleet's agents not in the fan-out, idle in their tabs.
      const others = cpu === null || tmux === null || tree0 === null || tree1 === null ? null : tree1 - tree0 - tmux - cpu;
      const bound = tabcrew === null || others === null ? null : Math.max(slowest, (cpu + tabcrew + tmux + others) / cpus().length);
      report(`coordinate_parallel_${n}_vs_cpu_bound_ratio`, bound === null ? null : round(wall / bound, 2), 'x', {
        detail:
          bound === null
            ? 'not measured: no /proc'
            : `${round(wall)} ms ÷ max(slowest single turn, (agents ${round(cpu)} + tabcrew ${round(tabcrew)} + tmux server ${round(tmux)} + the fleet's other agents ${round(others)} ms of CPU) ÷ ${cpus().length} cores) = ${round(bound)} ms`,
      });
      report(`coordinate_parallel_${n}_tabcrew_cpu_ms`, tabcrew === null ? null : round(tabcrew), 'ms', {
        detail:
          tabcrew === null
            ? 'not measured: no /proc'
            : `the supervisor (in the bench's process) and the tmux clients it ran; the tmux server ${round(tmux)} ms, the fleet's other agents ${round(others)} ms`,
      });
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
    return treeCpuMs(tmuxSync(socket, 'list-panes', '-a', '-F', '#{pane_pid}').split('\n').filter(Boolean).map(Number));
  } catch {
    return null;
  }
}
