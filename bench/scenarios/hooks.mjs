/**
 * What tabcrew's hooks cost an agent's turn. One stand-in agent is started by `tabcrew serve`;
 * its environment (/proc/<pid>/environ: the hook command's variables, as tabcrew set them)
 * and the hook commands of its --settings file are then run the way Claude Code runs them,
 * `/bin/sh -c <command>` with the event's JSON on stdin, for the events of one turn that
 * calls one tool: UserPromptSubmit, PreToolUse (Read of a file in its root), PostToolUse,
 * Stop.
 *
 * hook_cpu_per_turn_ms: user + system CPU of every process those hooks start (the shells
 *   included), per turn; median of ROUNDS.
 * hook_cpu_per_turn_vs_node_ratio: ÷ the CPU of `node -e 0` measured the same way,
 *   interleaved with the turns; median of the per-pair ratios.
 * Both are measured in a parent shell that runs the commands one after another and reads
 * its own cutime/cstime (/proc/$$/stat) at the end: the children's whole CPU, reaped.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { median, round, startServer, tmuxSync } from '../support.mjs';

const ROUNDS = 9;
const TICK_MS = 10; // USER_HZ is 100 on Linux

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
      const base = {
        session_id: env.TABCREW_LAUNCH ?? 'bench',
        transcript_path: join(ctx.base, 'hooks-transcript.jsonl'),
        cwd: root,
        permission_mode: 'default',
      };
      const read = { tool_name: 'Read', tool_input: { file_path: join(root, 'notes.txt') }, tool_use_id: 'toolu_bench' };
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
      const turns = [];
      const nodes = [];
      const ratios = [];
      for (let i = 0; i < ROUNDS; i++) {
        const t = childrenCpuMs(lines.join('\n'), env, root);
        const b = childrenCpuMs(`"${process.execPath}" -e 0`, env, root);
        turns.push(t);
        nodes.push(b);
        if (b > 0) ratios.push(t / b);
      }
      report('hook_cpu_per_turn_ms', round(median(turns)), 'ms', {
        detail: `${lines.length} hook processes a turn (UserPromptSubmit, PreToolUse, PostToolUse, Stop; ${programs(hooks, turn)}); min ${Math.min(...turns)}, max ${Math.max(...turns)}`,
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
