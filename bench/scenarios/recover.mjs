/**
 * recover_16_agents_ms: a session of 16 stand-in agents, each with one finished turn (so
 * each has a transcript and is resumed with `--resume`), has its tmux session killed
 * (every tab gone at once, as when the terminal app quits); then `recover_session` over
 * stdio until it answers with all 16 recovered. Claude Code's own start-up is not
 * counted: each stand-in logs its process start and the moment its SessionStart hooks
 * finished, and the union of those intervals is subtracted from the wall time.
 * recover_16_agents_wall_ms is the uncorrected time. The detail of
 * recover_16_agents_per_agent_ms splits one agent's turn, from the server's log ("agent
 * tab created", "agent launched") and the stand-in's log, into: before the tab (state
 * writes, launch files), tab → program start (tmux, launcher, node boot), the stand-in's
 * own start-up, ready → noticed (hook polling, screen read, state write).
 */
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fleetServer } from '../server.mjs';
import { inBatches, median, round, sleep, soloCpuMs, tmuxSync, treeCpuMs, waitForExit } from '../support.mjs';
import { tmuxSessionName } from '../../dist/terminals/tmux-text.js';

const N = 16;

/** Total length of the union of intervals [a, b]. */
function unionLength(intervals) {
  const s = [...intervals].sort((x, y) => x[0] - y[0]);
  let total = 0;
  let cur;
  for (const [a, b] of s) {
    if (!cur || a > cur[1]) {
      if (cur) total += cur[1] - cur[0];
      cur = [a, b];
    } else cur[1] = Math.max(cur[1], b);
  }
  if (cur) total += cur[1] - cur[0];
  return total;
}

export default {
  name: 'recover',
  standIn: true,
  async run(ctx, report) {
    const { f, server } = await fleetServer(ctx, 64);
    const root = ctx.root('recover');
    const { session_id: sessionId } = await server.ok('create_session', { root, name: 'recover' });
    const agents = await inBatches(N, 8, () => server.ok('create_agent', { session: 'recover' }));
    await Promise.all(
      agents.map((a) =>
        server.ok('send_message_to_agent', { agent: a.agent, message: 'One turn, so there is a conversation to resume.', wait_for_reply: true, timeout_s: 60 }),
      ),
    );
    const ids = new Map(agents.map((a) => [a.claude_session_id, a.agent]));

    const tmuxSession = tmuxSessionName(sessionId, 'recover');
    const lone = await loneStartUp(f.socket, tmuxSession, server, ctx.standInLog, ids);

    // Kill every tab of the session at once, then wait until the stand-ins are gone.
    const pids = tmuxSync(f.socket, 'list-panes', '-s', '-t', `=${tmuxSession}`, '-F', '#{pane_pid}').split('\n').filter(Boolean).map(Number);
    if (pids.length !== N) throw new Error(`expected ${N} panes, found ${pids.length}`);
    tmuxSync(f.socket, 'kill-session', '-t', `=${tmuxSession}`);
    await waitForExit(pids, 5000);
    await sleep(300);

    const tmuxPid = Number(tmuxSync(f.socket, 'display-message', '-p', '#{pid}').trim());
    const serverCpu0 = treeCpuMs([server.pid]);
    const tmuxCpu0 = soloCpuMs(tmuxPid);
    const treeCpu0 = treeCpuMs([tmuxPid]);
    const started = Date.now();
    const t0 = performance.now();
    const r = await server.ok('recover_session', { session: 'recover' }, 180_000);
    const wall = performance.now() - t0;
    // The new panes' whole trees (launcher, sandbox, stand-in, its hooks) started with the recovery: all their CPU is its.
    const newPanes = tmuxSync(f.socket, 'list-panes', '-s', '-t', `=${tmuxSession}`, '-F', '#{pane_pid}').split('\n').filter(Boolean).map(Number);
    const agentsCpu = treeCpuMs(newPanes);
    const serverCpu = serverCpu0 === null ? null : treeCpuMs([server.pid]) - serverCpu0;
    // The tmux server's own CPU, and that of everything else under it: the fleet's other agents, idle, in their tabs.
    const tmuxCpu = tmuxCpu0 === null ? null : soloCpuMs(tmuxPid) - tmuxCpu0;
    const othersCpu = treeCpu0 === null || tmuxCpu === null ? null : treeCpuMs([tmuxPid]) - treeCpu0 - tmuxCpu - (agentsCpu ?? 0);
    const resumed = r.recovered.filter((x) => x.action === 'resumed' && x.status === 'idle');
    if (resumed.length !== N) {
      const others = r.recovered.filter((x) => !resumed.includes(x));
      throw new Error(`recovered ${resumed.length} of ${N}: ${JSON.stringify({ others, failed: r.failed, skipped: r.skipped }).slice(0, 600)}`);
    }

    const startups = (await standInStartUps(ctx.standInLog, ids, started, N)).map((e) => [e.started, e.ready]);
    if (startups.length !== N) throw new Error(`found ${startups.length} stand-in start-ups, expected ${N}`);
    const own = unionLength(startups);
    report('recover_16_agents_ms', round(wall - own), 'ms', {
      detail: `wall ${round(wall)} minus stand-in start-up ${round(own)} (median ${round(median(startups.map(([a, b]) => b - a)))} each)`,
    });
    report('recover_16_agents_wall_ms', round(wall), 'ms');
    // Issue 10's target: all 16 back in at most 1.5 times what one agent's own start-up takes, in this run.
    const one = median(startups.map(([a, b]) => b - a));
    report('recover_16_agents_vs_one_start_ratio', round(wall / one, 2), 'ratio', {
      detail: `wall ${round(wall)} / one stand-in start-up ${round(one)} (median)`,
    });
    // The floor the agents set themselves on this machine (as coordinate's fan-out): sixteen start-ups
    // cannot take less than one start-up, nor less than their own CPU spread over every core.
    // One start-up alone, not the median of the sixteen: those stretch each other on a small machine.
    const cores = cpus().length;
    const floor = agentsCpu === null ? null : Math.max(lone, agentsCpu / cores);
    report('recover_16_vs_floor_ratio', floor === null ? null : round(wall / floor, 2), 'ratio', {
      detail:
        floor === null
          ? 'not measured: no /proc'
          : `wall ${round(wall)} / max(one start-up alone ${round(lone)}, the agents' own CPU ${round(agentsCpu)} ÷ ${cores} cores = ${round(agentsCpu / cores)}); the median start-up among the 16 was ${round(one)}`,
    });
    // Everyone's CPU (the agents, the server with its tmux clients, the tmux server, the fleet's other agents) ÷ cores: near 1,
    // the wall is the cores doing the work that had to be done; above it, cores sat idle or waited.
    const bound = floor === null || serverCpu === null || othersCpu === null ? null : Math.max(lone, (agentsCpu + serverCpu + tmuxCpu + othersCpu) / cores);
    report('recover_16_vs_cpu_bound_ratio', bound === null ? null : round(wall / bound, 2), 'ratio', {
      detail:
        bound === null
          ? 'not measured: no /proc'
          : `wall ${round(wall)} / max(one start-up alone ${round(lone)}, (agents ${round(agentsCpu)} + server ${round(serverCpu)} + tmux server ${round(tmuxCpu)} + the fleet's other agents ${round(othersCpu)} ms of CPU) ÷ ${cores} cores = ${round(bound)})`,
    });
    report('recover_16_agents_cpu_ms', agentsCpu === null ? null : round(agentsCpu), 'ms', {
      detail: agentsCpu === null ? 'not measured: no /proc' : `the 16 new panes' process trees (launcher, sandbox, stand-in, hooks)`,
    });
    // tabcrew's own work, which the floor does not allow for: a machine with spare cores hides it, a loaded one does not.
    report('recover_16_server_cpu_ms', serverCpu === null ? null : round(serverCpu), 'ms', {
      detail:
        serverCpu === null
          ? 'not measured: no /proc'
          : `the server process and the tmux clients it ran, during the recovery; the tmux server ${round(tmuxCpu)} ms, the fleet's other agents ${round(othersCpu)} ms`,
    });
    const split = breakdown(join(f.dirs.logs, 'tabcrew.log'), ids, startups, readFileSync(ctx.standInLog, 'utf8'), started);
    if (split) report('recover_16_agents_per_agent_ms', round(wall / N), 'ms', { detail: split });
  },
};

/**
 * One agent's start-up alone (ms, process start → SessionStart hooks done): its tab killed and
 * its session recovered, the other fifteen adopted as they are.
 */
async function loneStartUp(socket, tmuxSession, server, standInLog, ids) {
  const [pane, pid] = tmuxSync(socket, 'list-panes', '-s', '-t', `=${tmuxSession}`, '-F', '#{pane_id} #{pane_pid}').split('\n')[0].split(' ');
  tmuxSync(socket, 'kill-pane', '-t', pane);
  await waitForExit([Number(pid)], 5000);
  await sleep(300);
  const since = Date.now();
  const r = await server.ok('recover_session', { session: 'recover' }, 60_000);
  if (r.recovered.length !== 1 || r.recovered[0].status !== 'idle') throw new Error(`lone recovery: ${JSON.stringify(r).slice(0, 400)}`);
  const [e] = await standInStartUps(standInLog, ids, since, 1);
  if (!e) throw new Error('lone recovery: no stand-in start-up logged');
  return e.ready - e.started;
}

/**
 * The stand-ins' start-ups logged since `since`, once `count` are there or 2 s have passed: a
 * stand-in logs its start-up after its SessionStart hook process has ended, and tabcrew may
 * notice the hook's spool line (and answer) before that.
 */
async function standInStartUps(standInLog, ids, since, count) {
  const read = () =>
    readFileSync(standInLog, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .filter((e) => e.resume && ids.has(e.session_id) && e.started >= since - 50);
  for (let i = 0; i < 40; i++) {
    const found = read();
    if (found.length >= count) return found;
    await sleep(50);
  }
  return read();
}

/** Medians of the phases of one agent's recovery, from the server log and the stand-in log. */
function breakdown(logFile, ids, _startups, standInLog, since) {
  if (!existsSync(logFile)) return undefined;
  const names = new Set(ids.values());
  const created = new Map();
  const launched = new Map();
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.includes('"agent tab created"') && !line.includes('"agent launched"')) continue;
    let e;
    try {
      e = JSON.parse(line);
    } catch {
      continue;
    }
    const t = Date.parse(e.timestamp);
    if (!names.has(e.agent) || !(t >= since)) continue;
    (e.message === 'agent tab created' ? created : launched).set(e.agent, t);
  }
  const stand = new Map();
  for (const l of standInLog.split('\n').filter(Boolean)) {
    const e = JSON.parse(l);
    if (e.resume && ids.has(e.session_id) && e.started >= since - 50) stand.set(ids.get(e.session_id), e);
  }
  const order = [...created.entries()].sort((a, b) => a[1] - b[1]).map(([a]) => a);
  const phases = { before_tab: [], tab_to_program: [], stand_in_start: [], ready_to_noticed: [] };
  let prevEnd = since;
  for (const a of order) {
    const c = created.get(a);
    const l = launched.get(a);
    const s = stand.get(a);
    if (c === undefined || l === undefined || !s) return undefined;
    phases.before_tab.push(c - prevEnd);
    phases.tab_to_program.push(s.started - c);
    phases.stand_in_start.push(s.ready - s.started);
    phases.ready_to_noticed.push(l - s.ready);
    prevEnd = l;
  }
  if (order.length !== ids.size) return undefined;
  // The whole recovery's shape: when the first tab was there, the last stand-in ready, the last one noticed.
  const last = (m) => Math.max(...m.values()) - since;
  const shape = `first tab ${Math.min(...created.values()) - since}, last tab ${last(created)}, last ready ${round(Math.max(...[...stand.values()].map((e) => e.ready)) - since)}, last noticed ${last(launched)}`;
  return (
    Object.entries(phases)
      .map(([k, v]) => `${k} ${round(median(v))}`)
      .join(', ') + ` (medians); ${shape} (ms from the call; log timestamps have 1 ms resolution)`
  );
}
