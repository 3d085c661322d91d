/**
 * create_agent_backend_calls: terminal round trips (`backend.calls`, in-process) per
 * `Supervisor.createAgent`, for the first 8 agents of the fleet, created one after
 * another so no other call is counted. create_agent_ms: its duration, which includes
 * the stand-in's own start-up (a node process and its SessionStart hook).
 */
import { fleet } from '../fleet.mjs';
import { median, round } from '../support.mjs';

const N = 8;

export default {
  name: 'create-agent',
  standIn: true,
  async run(ctx, report) {
    const f = await fleet(ctx);
    const { supervisor, backend } = f.stack;
    const calls = [];
    const times = [];
    for (let i = 0; i < N; i++) {
      const before = backend.calls;
      const t0 = performance.now();
      const a = await supervisor.createAgent({ session: f.session });
      times.push(performance.now() - t0);
      calls.push(backend.calls - before);
      if (a.status !== 'idle') throw new Error(`${a.agent} is ${a.status}: ${a.note ?? ''}`);
      f.size++;
    }
    report('create_agent_backend_calls', median(calls), 'calls', { detail: `per agent: ${calls.join(' ')}` });
    report('create_agent_ms', round(median(times)), 'ms', { detail: 'incl. stand-in start-up' });
  },
};
