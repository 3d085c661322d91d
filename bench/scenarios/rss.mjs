/**
 * rss_64_agents_mb: resident memory (VmRSS of /proc/<pid>/status) of the `tabcrew serve`
 * process supervising the 64-agent fleet, after the status and delivery scenarios ran
 * on it (so its per-agent caches are filled). Read 5 times, 200 ms apart; the largest.
 * rss_0_agents_mb: the same for a fresh server on an empty state, after tools/list.
 */
import { fleetServer } from '../server.mjs';
import { round, rssMb, sleep, startServer } from '../support.mjs';

export default {
  name: 'rss',
  standIn: true,
  async run(ctx, report) {
    const { f, server } = await fleetServer(ctx, 64);
    await server.ok('get_session_status', { session: f.session });
    const samples = [];
    for (let i = 0; i < 5; i++) {
      samples.push(rssMb(server.pid));
      await sleep(200);
    }
    const empty = await startServer(ctx, { dirs: ctx.dirs('rss-empty'), socket: ctx.socket('rss-empty'), label: 'empty server' });
    try {
      await empty.client.listTools();
      await sleep(200);
      report('rss_0_agents_mb', round(rssMb(empty.pid)), 'MB', { detail: 'fresh server, no agents' });
    } finally {
      await empty.close();
    }
    report('rss_64_agents_mb', round(Math.max(...samples)), 'MB', { detail: `${ctx.shared.rssTrail ?? ''}; now ${samples.map((s) => round(s)).join(' ')}` });
  },
};
