/**
 * delivery_confirm_p50_ms: `send_message_to_agent` (wait_for_reply false) to an idle
 * agent, end to end over stdio, until it answers `delivered: confirmed` (the agent's
 * UserPromptSubmit hook was seen). 12 messages, each to a different idle fleet agent.
 * delivery_backend_calls: round trips of one delivery, in-process (3 more agents).
 */
import { fleetServer } from '../server.mjs';
import { median, quantile, round } from '../support.mjs';

const SENDS = 12;

export default {
  name: 'delivery',
  standIn: true,
  async run(ctx, report) {
    const { f, server } = await fleetServer(ctx, 64);
    const times = [];
    for (let i = 0; i < SENDS; i++) {
      const agent = `Agent_${i + 1}`;
      const t0 = performance.now();
      const r = await server.ok('send_message_to_agent', { agent, message: `Benchmark message ${i}: summarise the README in one line.` });
      times.push(performance.now() - t0);
      if (r.delivered !== 'confirmed') throw new Error(`${agent}: delivery ${r.delivered}: ${r.note ?? ''}`);
    }
    report('delivery_confirm_p50_ms', round(median(times)), 'ms', { detail: `p90 ${round(quantile(times, 0.9))}, ${SENDS} sends` });

    const { supervisor, backend } = f.stack;
    const calls = [];
    for (let i = 0; i < 3; i++) {
      const before = backend.calls;
      const r = await supervisor.sendMessage(`Agent_${40 + i}`, { message: 'Count the round trips of this delivery.' });
      calls.push(backend.calls - before);
      if (r.delivered !== 'confirmed') throw new Error(`in-process delivery ${r.delivered}`);
    }
    report('delivery_backend_calls', median(calls), 'calls', { detail: `per delivery: ${calls.join(' ')}` });
  },
};
