/**
 * osascript_calls_status_8_agents: `osascript` processes per `get_session_status` of a
 * session of 8 idle stand-in agents, with the iTerm2 backend against the iTerm2 emulator
 * (test/iterm2-emulator/osascript first on PATH; every run is one line of its
 * TABCREW_EMULATOR_LOG). Median of 5 calls.
 *
 * Preferred path: the real server, `tabcrew serve --backend iterm2`. While the build
 * does not offer that backend yet, the same Supervisor is wired in-process with the
 * built ITerm2Backend (the count is the same: one backend call = one osascript run);
 * when neither exists the metric is null with a note.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { REPO, dist, inBatches, median, openInProcess, startServer } from '../support.mjs';

const N = 8;
const CALLS = 5;

export default {
  name: 'iterm2-status',
  standIn: true,
  async run(ctx, report) {
    const emuDir = join(REPO, 'test', 'iterm2-emulator');
    const osascript = join(emuDir, 'osascript');
    const metric = 'osascript_calls_status_8_agents';
    if (!existsSync(osascript)) return report(metric, null, 'calls', { note: 'the iTerm2 emulator (test/iterm2-emulator/osascript) is not there yet' });
    const base = join(ctx.base, 'emu');
    mkdirSync(base, { recursive: true });
    const emuEnv = {
      TABCREW_EMULATOR_STATE: join(base, 'state.json'),
      TABCREW_EMULATOR_TMUX: ctx.socket('emu'),
      TABCREW_EMULATOR_LOG: join(base, 'runs.jsonl'),
    };
    ctx.onCleanup(() => spawnSync(osascript, ['--emulator-reset'], { env: { ...process.env, ...emuEnv }, timeout: 30_000 }));
    const runs = () => (existsSync(emuEnv.TABCREW_EMULATOR_LOG) ? readFileSync(emuEnv.TABCREW_EMULATOR_LOG, 'utf8').split('\n').filter(Boolean).length : 0);
    const dirs = ctx.dirs('iterm2');
    const root = ctx.root('iterm2');

    let via;
    let api;
    try {
      const server = await startServer(ctx, {
        dirs,
        socket: ctx.socket('iterm2-unused'),
        args: ['--backend', 'iterm2'],
        env: { ...emuEnv, PATH: `${emuDir}${delimiter}${process.env.PATH ?? ''}` },
        label: 'iterm2 server',
      });
      via = 'tabcrew serve --backend iterm2';
      api = {
        createSession: (a) => server.ok('create_session', a),
        createAgent: (a) => server.ok('create_agent', a),
        status: (s) => server.ok('get_session_status', { session: s }),
      };
    } catch (e) {
      const why = e.message.replace(/\s+/g, ' ').slice(0, 200);
      const mod = await dist('terminals/iterm2.js').catch(() => ({}));
      if (!/not available/.test(e.message) || typeof mod.ITerm2Backend !== 'function') {
        return report(metric, null, 'calls', { note: `--backend iterm2 could not be used (${why}) and no built ITerm2Backend to wire in-process` });
      }
      const { Supervisor } = await dist('supervisor/supervisor.js');
      // The layers as serve wires them (store, log, audit), with the iTerm2 backend instead.
      const stack = await openInProcess(ctx, { dirs, socket: ctx.socket('iterm2-unused') });
      // The backend's osascript processes take their environment from this process.
      const saved = Object.fromEntries(Object.keys(emuEnv).map((k) => [k, process.env[k]]));
      Object.assign(process.env, emuEnv);
      ctx.onCleanup(() => {
        for (const [k, v] of Object.entries(saved))
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
      });
      const backend = new mod.ITerm2Backend({ runtimeDir: stack.config.runtimeDir, osascriptPath: osascript });
      const sup = new Supervisor({ ...stack, backend, env: ctx.env() });
      via = 'in-process Supervisor + built ITerm2Backend (serve says: --backend iterm2 not available yet)';
      api = {
        createSession: (a) => sup.createSession(a),
        createAgent: (a) => sup.createAgent(a),
        status: (s) => sup.getSessionStatus(s),
      };
    }
    await api.createSession({ root, name: 'iterm2' });
    const made = await inBatches(N, N, () => api.createAgent({ session: 'iterm2' }));
    const notIdle = made.filter((a) => a.status !== 'idle');
    if (notIdle.length) throw new Error(`${notIdle.length} agents under the emulator did not reach idle: ${notIdle[0].note ?? notIdle[0].status}`);
    const counts = [];
    for (let i = 0; i < CALLS; i++) {
      const before = runs();
      const s = await api.status('iterm2');
      counts.push(runs() - before);
      if (i === 0 && s.agents.some((a) => a.status !== 'idle')) throw new Error('agents under the emulator are not idle');
    }
    report(metric, median(counts), 'calls', { detail: `${via}; per call: ${counts.join(' ')}` });
  },
};
