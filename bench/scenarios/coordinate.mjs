/**
 * coordinate_parallel_{16,64}_ratio: coordinate_agents in parallel mode to 16 (then 64)
 * fleet agents, wall time from the call to the last reply collected, divided by the
 * slowest single agent's turn measured alone just before (send_message_to_agent with
 * wait_for_reply, to 3 other idle agents). 1.0 would be a perfect fan-out; what is above
 * it is typing into many tabs at once and collecting many replies. In-process (the
 * fleet's supervisor), stand-in agents.
 */
import { growFleet } from '../fleet.mjs';
import { round } from '../support.mjs';

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
      const t0 = performance.now();
      const run = await sup.coordinate({ session: f.session, mode: 'parallel', task: `Fan-out to ${n}: one line each.`, agents, timeout_s: 120 });
      const wall = performance.now() - t0;
      if (run.state !== 'done') throw new Error(`fan-out to ${n}: ${run.state}: ${run.summary}`);
      report(`coordinate_parallel_${n}_ratio`, round(wall / slowest, 2), 'x', {
        detail: `${round(wall)} ms for ${n} agents ÷ slowest single turn ${round(slowest)} ms`,
      });
    }
  },
};
