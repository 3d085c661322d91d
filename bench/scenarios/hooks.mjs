/**
 * What tabcrew's hooks cost an agent's turn. One stand-in agent is started by `tabcrew serve`;
 * its environment (/proc/<pid>/environ: the hook command's variables, as tabcrew set them)
 * and the hook commands of its --settings file are then run the way Claude Code runs them,
 * `/bin/sh -c <command>` with the event's JSON on stdin, for the events of one turn that
 * calls one tool: UserPromptSubmit, PreToolUse (Read of a file in its root), PostToolUse,
 * Stop.
 *
 * hook_cpu_per_turn_ms: user + system CPU of every process those hooks start (the shells
 *   included), per turn; median of ROUNDS, each the mean of TURNS_A_ROUND turns.
 * hook_cpu_per_turn_vs_node_ratio: ÷ the CPU of `node -e 0` measured the same way,
 *   interleaved with the turns; median of the per-pair ratios.
 * Both are measured in a parent shell that runs the commands one after another and reads
 * its own cutime/cstime (/proc/$$/stat) at the end: the children's whole CPU, reaped.
 * hook_supervisor_cpu_per_pre_tool_use_ms: the server's own CPU (/proc/<pid>/stat utime +
 *   stime) while PRE_BATCH PreToolUse hooks run one after another, above its idle CPU over the
 *   same time, per hook: the work a PreToolUse costs the supervisor (the usage count for every
 *   build; the boundary verdict too where the supervisor decides it). The server's CPU over the
 *   turns above is in its detail, as is the turn's cost with it.
 * The transcript holds the call's line before the hooks run, as Claude Code's does: the usage
 * count then finds it at once instead of waiting for it (supervisor/usage-ledger.ts).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { dist, median, round, sleep, startServer, tmuxSync } from '../support.mjs';

const ROUNDS = 9;
/** Turns a round runs: a turn of perl hooks takes less CPU than one 10 ms tick. */
const TURNS_A_ROUND = 5;
const PRE_BATCH = 40;
const TICK_MS = 10; // USER_HZ is 100 on Linux

const VERDICT_CALLS = 200;

/**
 * CPU (ms) of the part of a PreToolUse the supervisor took over from the hook, in this process:
 * ToolGuard with the usage count stubbed out (the count was the supervisor's before). undefined
 * for a build without it, or an agent without boundaries.
 */
async function verdictCpuMs(input, env, root) {
  if (!env.TABCREW_BOUNDARIES) return undefined;
  let ToolGuard, VerifiedAgent;
  try {
    ({ ToolGuard } = await dist('supervisor/tool-guard.js'));
    ({ VerifiedAgent } = await dist('supervisor/agent-desk.js'));
  } catch {
    return undefined;
  }
  const state = { agents: [{ name: env.TABCREW_AGENT, sessionId: env.TABCREW_SESSION }], sessions: [{ id: env.TABCREW_SESSION, root }] };
  const guard = new ToolGuard({
    store: { read: async () => state },
    runtimeDir: dirname(dirname(env.TABCREW_BOUNDARIES)),
    env,
    ledger: { count: async () => undefined },
    hook: env.TABCREW_HOOK,
  });
  const caller = VerifiedAgent.make(env.TABCREW_AGENT, env.TABCREW_SESSION);
  const params = { input_hex: Buffer.from(JSON.stringify(input)).toString('hex'), launch: env.TABCREW_LAUNCH, boundaries: true };
  await guard.preToolUse(caller, params);
  const c0 = process.cpuUsage();
  for (let i = 0; i < VERDICT_CALLS; i++) await guard.preToolUse(caller, params);
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000 / VERDICT_CALLS;
}

/** A process's own CPU (ms), user + system, children not included. */
function ownCpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * TICK_MS;
}

const shellQuote = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;

/** CPU (ms) of everything `script` runs, in a shell of its own that reports its reaped children. */
function childrenCpuMs(script, env, cwd) {
  const r = spawnSync('/bin/sh', ['-c', `${script}\nread -r s < /proc/$$/stat; echo "$s"`], { env, cwd, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`hook run failed (${r.status}): ${r.stderr.slice(-300)}`);
  const stat = r.stdout.trim().split('\n').pop();
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) * TICK_MS;
}

function environOf(pid) {
  const env = {};
  for (const kv of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean)) {
    const i = kv.indexOf('=');
    env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return env;
}

/** The settings file named by --settings on the agent's command line. */
function hooksOf(pid) {
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  const file = argv[argv.indexOf('--settings') + 1];
  return JSON.parse(readFileSync(file, 'utf8')).hooks ?? {};
}

/** Which program each event of the turn starts (`node`, `perl`, or `sh` for the shell form). */
function programs(hooks, turn) {
  return turn
    .map(([event]) => {
      const h = hooks[event]?.[0]?.hooks?.[0];
      return `${event} ${h?.args ? (h.command.split('/').pop() ?? h.command) : 'sh'}`;
    })
    .join(', ');
}

export default {
  name: 'hooks',
  standIn: true,
  async run(ctx, report) {
    const dirs = ctx.dirs('hooks');
    const socket = ctx.socket('hooks');
    const root = ctx.root('hooks');
    writeFileSync(join(root, 'notes.txt'), 'a file the turn reads\n');
    const server = await startServer(ctx, { dirs, socket, label: 'hooks server' });
    try {
      await server.ok('create_session', { root, name: 'hooks' });
      await server.ok('create_agent', { session: 'hooks' });
      // The pane runs the agent itself (tabcrew execs it): its pid is the stand-in's.
      const pid = Number(tmuxSync(socket, 'list-panes', '-a', '-F', '#{pane_pid}').split('\n')[0]);
      const env = environOf(pid);
      const hooks = hooksOf(pid);
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const { transcriptPath } = await dist('claude/transcript.js');
      const { claudeConfigDir } = await dist('claude/watch.js');
      const transcript = transcriptPath(claudeConfigDir(env), root, argv[argv.indexOf('--session-id') + 1]);
      const read = { tool_name: 'Read', tool_input: { file_path: join(root, 'notes.txt') }, tool_use_id: 'toolu_bench' };
      mkdirSync(dirname(transcript), { recursive: true });
      writeFileSync(
        transcript,
        JSON.stringify({
          type: 'assistant',
          timestamp: new Date().toISOString(),
          message: {
            id: 'msg_bench',
            role: 'assistant',
            model: 'claude-bench',
            content: [{ type: 'tool_use', id: read.tool_use_id, name: read.tool_name, input: read.tool_input }],
            usage: { input_tokens: 10, output_tokens: 5 },
          },
        }) + '\n',
      );
      const base = {
        session_id: env.TABCREW_LAUNCH ?? 'bench',
        transcript_path: transcript,
        cwd: root,
        permission_mode: 'default',
      };
      const turn = [
        ['UserPromptSubmit', { prompt: 'Read notes.txt and sum it up.' }],
        ['PreToolUse', read],
        ['PostToolUse', { ...read, tool_response: { type: 'text', file: { filePath: join(root, 'notes.txt'), content: 'a file the turn reads\n' } } }],
        ['Stop', { stop_hook_active: false, last_assistant_message: 'It says: a file the turn reads.' }],
      ];
      const lines = [];
      let n = 0;
      for (const [event, fields] of turn) {
        for (const group of hooks[event] ?? []) {
          for (const h of group.hooks ?? []) {
            const input = join(ctx.base, `hook-input-${n}.json`);
            writeFileSync(input, JSON.stringify({ ...base, hook_event_name: event, ...fields }));
            if (Array.isArray(h.args)) {
              // Exec form: the program itself with its arguments, no shell; the JSON on stdin.
              lines.push(`${[h.command, ...h.args].map(shellQuote).join(' ')} < ${shellQuote(input)} > /dev/null`);
              n++;
              continue;
            }
            const command = join(ctx.base, `hook-command-${n++}`);
            writeFileSync(command, h.command);
            // As Claude Code runs it: the command text through /bin/sh -c, the JSON on stdin.
            lines.push(`/bin/sh -c "$(cat '${command}')" < '${input}' > /dev/null`);
          }
        }
      }
      if (!lines.length) throw new Error('the agent settings hold no hooks for a turn');
      // The server's idle CPU rate, to take off what it spends while the hooks run.
      const idleRate = async (ms) => {
        const c0 = ownCpuMs(server.pid);
        const t0 = Date.now();
        await sleep(ms);
        return (ownCpuMs(server.pid) - c0) / (Date.now() - t0);
      };
      const idlePerMs = await idleRate(5000);
      const turns = [];
      const nodes = [];
      const ratios = [];
      let serverTurns = 0;
      let turnsWall = 0;
      for (let i = 0; i < ROUNDS; i++) {
        const s0 = ownCpuMs(server.pid);
        const w0 = Date.now();
        const t = childrenCpuMs(Array(TURNS_A_ROUND).fill(lines.join('\n')).join('\n'), env, root) / TURNS_A_ROUND;
        turnsWall += Date.now() - w0;
        serverTurns += ownCpuMs(server.pid) - s0;
        const b = childrenCpuMs(`"${process.execPath}" -e 0`, env, root);
        turns.push(t);
        nodes.push(b);
        if (b > 0) ratios.push(t / b);
      }
      const serverPerTurn = Math.max(0, serverTurns - idlePerMs * turnsWall) / (ROUNDS * TURNS_A_ROUND);
      report('hook_cpu_per_turn_ms', round(median(turns)), 'ms', {
        detail: `${lines.length} hook processes a turn (UserPromptSubmit, PreToolUse, PostToolUse, Stop; ${programs(hooks, turn)}); min ${round(Math.min(...turns))}, max ${round(Math.max(...turns))}; the supervisor's own CPU a turn, above idle: ${round(serverPerTurn)} ms (hooks + supervisor ${round((median(turns) + serverPerTurn) / median(nodes), 2)}× node -e 0)`,
      });
      // PreToolUse alone, PRE_BATCH times: what each costs the supervisor.
      const preLine = lines[turn.findIndex(([event]) => event === 'PreToolUse')];
      const s0 = ownCpuMs(server.pid);
      const w0 = Date.now();
      const preHooks = childrenCpuMs(Array(PRE_BATCH).fill(preLine).join('\n'), env, root) / PRE_BATCH;
      const preWall = Date.now() - w0;
      const preServer = Math.max(0, ownCpuMs(server.pid) - s0 - idlePerMs * preWall) / PRE_BATCH;
      const verdict = await verdictCpuMs(
        JSON.parse(readFileSync(join(ctx.base, `hook-input-${turn.findIndex(([e]) => e === 'PreToolUse')}.json`), 'utf8')),
        env,
        root,
      );
      report('hook_supervisor_cpu_per_pre_tool_use_ms', round(preServer, 1), 'ms', {
        detail: `the server's own CPU over ${PRE_BATCH} PreToolUse hooks (${round(preWall / PRE_BATCH)} ms each, ${round(preHooks, 1)} ms of hook CPU each), above its idle ${round(idlePerMs * 1000, 1)} ms/s; of it, the work moved from the hook (decoding, boundary verdict, spool line; in-process, ${VERDICT_CALLS} calls): ${verdict === undefined ? 'none, this build decides in the hook' : `${round(verdict, 2)} ms`}`,
      });
      // Each event alone, ten times over (one 10 ms tick would round a 1 ms hook to 0 or 10).
      const each = lines.map((line, i) => {
        const ms = childrenCpuMs(Array(10).fill(line).join('\n'), env, root) / 10;
        return `${turn[i]?.[0] ?? i} ${round(ms, 1)} ms`;
      });
      report('hook_cpu_per_turn_vs_node_ratio', ratios.length ? round(median(ratios), 2) : null, 'x', {
        detail: `node -e 0: median ${round(median(nodes))} ms CPU; per event: ${each.join(', ')}`,
      });
    } finally {
      await server.close();
    }
  },
};
