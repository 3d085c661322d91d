/**
 * What hibernation saves: a session of 32 stand-in agents, each with one finished turn (so
 * each has a conversation to resume), measured twice in this run on its own tmux socket:
 *
 * - none hibernated: the `tabcrew serve` that created them;
 * - 28 hibernated: a server started with `--hibernate-after 1s` puts all 32 to sleep, then
 *   a server without it (hibernated agents stay asleep across a restart) wakes 4 with
 *   `wake_agent`, as their next message would.
 *
 * hibernate_32_rss_mb_*: the sum of VmRSS of the tabcrew server and its children, the tmux
 * server and every process under it (agents, their hooks); hibernate_32_processes_* counts
 * those processes. Each is the largest of 3 reads 300 ms apart. The stand-in is a node
 * process (about 40 MB); real Claude Code is larger, so the saving per agent is a floor.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { inBatches, rssMb, round, sleep, startServer, tmuxSync } from '../support.mjs';

const N = 32;
const AWAKE = 4;

/** pid → parent pid, for every process readable in /proc. */
function parents() {
  const out = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      // The command name (field 2) may hold spaces and parentheses: fields after the last ')'.
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      out.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // ended meanwhile
    }
  }
  return out;
}

/** The roots and all their descendants. */
function trees(roots) {
  const ppid = parents();
  const seen = new Set(roots.filter((p) => ppid.has(p)));
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, parent] of ppid) {
      if (!seen.has(pid) && seen.has(parent)) {
        seen.add(pid);
        grew = true;
      }
    }
  }
  return [...seen];
}

function tmuxServerPid(socket) {
  try {
    return Number(tmuxSync(socket, 'display-message', '-p', '#{pid}').trim());
  } catch {
    return undefined; // no tab left: no tmux server
  }
}

/** Memory and processes of the server, the tmux server and everything under them. */
async function footprint(server, socket) {
  let best = { rss: 0, processes: 0 };
  for (let i = 0; i < 3; i++) {
    const pids = trees([server.pid, tmuxServerPid(socket)].filter(Boolean));
    let rss = 0;
    for (const pid of pids) {
      try {
        rss += rssMb(pid);
      } catch {
        // ended meanwhile
      }
    }
    if (rss > best.rss) best = { rss, processes: pids.length };
    await sleep(300);
  }
  return best;
}

async function statuses(server) {
  return (await server.ok('get_session_status', { session: 'hibernate' })).agents.map((a) => a.status);
}

export default {
  name: 'hibernate',
  standIn: true,
  async run(ctx, report) {
    const dirs = ctx.dirs('hibernate');
    const socket = ctx.socket('hibernate');
    const root = ctx.root('hibernate');
    let server = await startServer(ctx, { dirs, socket, label: 'hibernate server' });
    await server.ok('create_session', { root, name: 'hibernate' });
    const agents = await inBatches(N, 8, () => server.ok('create_agent', { session: 'hibernate' }));
    await inBatches(N, 8, (i) =>
      server.ok('send_message_to_agent', {
        agent: agents[i].agent,
        message: 'One turn, so there is a conversation to resume.',
        wait_for_reply: true,
        timeout_s: 60,
      }),
    );
    const none = await footprint(server, socket);
    await server.close();

    server = await startServer(ctx, { dirs, socket, args: ['--hibernate-after', '1s'], label: 'hibernating server' });
    const deadline = Date.now() + 45_000;
    let now = await statuses(server);
    while (now.some((s) => s !== 'hibernated') && Date.now() < deadline) {
      await sleep(500);
      now = await statuses(server);
    }
    const asleep = now.filter((s) => s === 'hibernated').length;
    await server.close();
    if (asleep !== N) throw new Error(`only ${asleep} of ${N} agents hibernated within 45 s: ${now.join(' ')}`);

    server = await startServer(ctx, { dirs, socket, label: 'waking server' });
    for (const a of agents.slice(0, AWAKE)) await server.ok('wake_agent', { agent: a.agent });
    const after = await statuses(server);
    const hibernated = after.filter((s) => s === 'hibernated').length;
    if (hibernated !== N - AWAKE) throw new Error(`expected ${N - AWAKE} hibernated agents, found ${hibernated}: ${after.join(' ')}`);
    const some = await footprint(server, socket);
    await server.close();

    const detail = 'server + tmux server + agents and their children';
    report('hibernate_32_rss_mb_none', round(none.rss), 'MB', { detail });
    report('hibernate_32_rss_mb_28', round(some.rss), 'MB', { detail: `${detail}; 4 awake` });
    report('hibernate_32_processes_none', none.processes, 'processes');
    report('hibernate_32_processes_28', some.processes, 'processes');
    report('hibernate_32_rss_28_vs_none_ratio', round(some.rss / none.rss, 2), 'x', {
      detail: `${round((none.rss - some.rss) / (N - AWAKE))} MB saved per hibernated stand-in agent`,
    });
  },
};
