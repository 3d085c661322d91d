/**
 * status_64_agents_p50_ms / _p99_ms: `get_session_status` of the 64-agent fleet session,
 * end to end: MCP SDK client → stdio → `tabcrew serve` → answer parsed, 100 calls one
 * after another (10 warm-up calls first, not counted).
 */
import { fleetServer } from '../server.mjs';
import { median, quantile, round, rssMb } from '../support.mjs';

const WARMUP = 10;
const CALLS = 100;

export default {
  name: 'status-64',
  standIn: true,
  async run(ctx, report) {
    const { f, server } = await fleetServer(ctx, 64);
    const times = [];
    const rss = [rssMb(server.pid)];
    for (let i = 0; i < WARMUP + CALLS; i++) {
      if (i === 1 || i === WARMUP) rss.push(rssMb(server.pid));
      const t0 = performance.now();
      const s = await server.ok('get_session_status', { session: f.session });
      const ms = performance.now() - t0;
      if (i === 0) {
        const notIdle = s.agents.filter((a) => a.status !== 'idle');
        if (s.agents.length !== 64 || notIdle.length) throw new Error(`status shows ${s.agents.length} agents, ${notIdle.length} not idle`);
      }
      if (i >= WARMUP) times.push(ms);
    }
    report('status_64_agents_p50_ms', round(median(times)), 'ms', { detail: `over stdio, ${CALLS} calls` });
    report('status_64_agents_p99_ms', round(quantile(times, 0.99)), 'ms', { detail: `p90 ${round(quantile(times, 0.9))}, max ${round(Math.max(...times))}` });
    rss.push(rssMb(server.pid));
    ctx.shared.rssTrail = `RSS at server start ${round(rss[0])}, after 1st status ${round(rss[1])}, after ${WARMUP} ${round(rss[2])}, after ${WARMUP + CALLS} ${round(rss[3])}`;
  },
};
