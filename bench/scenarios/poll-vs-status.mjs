/**
 * Side by side, at 8, 32 and 64 idle agents in one session, in this process:
 * - poll_capture_per_agent_N_ms: what other supervisors do per poll: one
 *   `tmux capture-pane` process per agent, one after another, each screen classified
 *   (classifyScreen). poll_capture_parallel_N_ms: the same captures all at once.
 * - status_tabcrew_N_ms: `Supervisor.getSessionStatus` (one `list-panes`, the hook
 *   spools, transcripts and TODO.md; screens only for agents the hooks leave in doubt); its
 *   detail gives the CPU the status cost this process.
 * - poll_vs_tabcrew_ratio_N: median poll / median status (above 1: tabcrew is faster);
 *   poll_parallel_vs_tabcrew_ratio_N: the same with the parallel poll (issue 21: ≥ 20 at 64).
 * Repetitions interleave the three so they see the same load; medians reported.
 * status_64_agents_backend_calls: `backend.calls` per getSessionStatus at 64 agents.
 */
import { classifyScreen } from '../../dist/claude/screen.js';
import { growFleet } from '../fleet.mjs';
import { median, round, tmux } from '../support.mjs';

const SIZES = [
  { n: 8, reps: 20 },
  { n: 32, reps: 12 },
  { n: 64, reps: 10 },
];

async function pollSequential(socket, panes) {
  const kinds = [];
  for (const p of panes) kinds.push(classifyScreen(await tmux(socket, 'capture-pane', '-p', '-J', '-t', p, '-S', '-40')));
  return kinds;
}

async function pollParallel(socket, panes) {
  const screens = await Promise.all(panes.map((p) => tmux(socket, 'capture-pane', '-p', '-J', '-t', p, '-S', '-40')));
  return screens.map(classifyScreen);
}

export default {
  name: 'poll-vs-status',
  standIn: true,
  async run(ctx, report) {
    for (const { n, reps } of SIZES) {
      const f = await growFleet(ctx, n);
      const { supervisor, backend } = f.stack;
      // A poller knows its panes from its own records; listing them is not part of a poll.
      const panes = (await backend.listTabs()).filter((t) => t.group && t.tag?.startsWith('tabcrew:')).map((t) => t.pane);
      if (panes.length !== n) throw new Error(`expected ${n} panes, found ${panes.length}`);
      const seq = [];
      const par = [];
      const tab = [];
      const calls = [];
      const cpu = [];
      for (let i = 0; i < reps; i++) {
        let t0 = performance.now();
        const kinds = await pollSequential(f.socket, panes);
        seq.push(performance.now() - t0);
        if (i === 0 && kinds.some((k) => k !== 'idle')) throw new Error(`poll saw ${kinds.filter((k) => k !== 'idle').join(', ')}`);
        t0 = performance.now();
        await pollParallel(f.socket, panes);
        par.push(performance.now() - t0);
        const before = backend.calls;
        const cpu0 = process.cpuUsage();
        t0 = performance.now();
        const status = await supervisor.getSessionStatus(f.session);
        tab.push(performance.now() - t0);
        const used = process.cpuUsage(cpu0);
        cpu.push((used.user + used.system) / 1000);
        calls.push(backend.calls - before);
        if (i === 0 && status.agents.some((a) => a.status !== 'idle')) throw new Error('tabcrew saw agents that are not idle');
      }
      report(`poll_capture_per_agent_${n}_ms`, round(median(seq)), 'ms', { detail: `${n} tmux processes, one after another` });
      report(`poll_capture_parallel_${n}_ms`, round(median(par)), 'ms', { detail: `${n} tmux processes at once` });
      report(`status_tabcrew_${n}_ms`, round(median(tab)), 'ms', {
        detail: `getSessionStatus in-process, ${median(calls)} round trip(s); CPU of this process (its thread pool included) ${round(median(cpu))} ms`,
      });
      report(`poll_vs_tabcrew_ratio_${n}`, round(median(seq) / median(tab), 2), 'ratio', { detail: 'the captures one after another' });
      report(`poll_parallel_vs_tabcrew_ratio_${n}`, round(median(par) / median(tab), 2), 'ratio', { detail: 'the captures all at once' });
      if (n === 64) report('status_64_agents_backend_calls', median(calls), 'calls', { detail: `max ${Math.max(...calls)} over ${reps} calls` });
    }
  },
};
