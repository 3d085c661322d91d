import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../../src/audit/logger.js';
import { SpoolReader } from '../../src/claude/events.js';
import { findPerl, hookExec, PRE_TOOL_USE_PL, type HookRunner } from '../../src/claude/hook-commands.js';
import { toHookRecord } from '../../src/claude/hook-record.js';
import { agentSettings, HOOK_EVENTS } from '../../src/claude/settings.js';
import { AgentSocket } from '../../src/server/agent-socket/listener.js';
import { VerifiedAgent } from '../../src/supervisor/agent-desk.js';
import { boundariesPath } from '../../src/supervisor/boundaries.js';
import { UserError } from '../../src/supervisor/errors.js';
import type { Supervisor } from '../../src/supervisor/supervisor.js';
import { ToolGuard } from '../../src/supervisor/tool-guard.js';

/*
 * The hooks as Claude Code runs them in exec form (command + args, JSON on stdin): the one-file
 * node program for the events that decide, perl for the rest (claude/hook-commands.ts).
 */
const DIST = resolve(import.meta.dirname, '../../dist');
const perl = findPerl();
const runner: HookRunner = { node: process.execPath, hook: join(DIST, 'hook.cjs'), perl };
const base = realpathSync(mkdtempSync(join(tmpdir(), 'tabcrew-hookcmd-')));
const own = join(base, 'own');
const other = join(base, 'other');
const runtime = join(base, 'runtime');
for (const d of [own, other, runtime]) mkdirSync(d);
const boundaries = join(runtime, 'boundaries.json');
writeFileSync(
  boundaries,
  JSON.stringify({
    version: 1,
    sessions: [
      { id: 's-own', name: 'own', root: own },
      { id: 's-b', name: 'b', root: other },
    ],
  }),
);
afterAll(() => rmSync(base, { recursive: true, force: true }));

function run(exec: { command: string; args: string[] }, input: string, env: Record<string, string>): string {
  return execFileSync(exec.command, exec.args, { input, env: { PATH: process.env.PATH!, HOME: base, ...env }, encoding: 'utf8' });
}

function runAsync(exec: { command: string; args: string[] }, input: string, env: Record<string, string>): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(exec.command, exec.args, { env: { PATH: process.env.PATH!, HOME: base, ...env }, stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.on('error', fail);
    child.on('close', (code) => (code === 0 ? done(out) : fail(new Error(`${exec.command} exited ${code}`))));
    child.stdin.end(input);
  });
}

const spoolLines = (file: string): Record<string, unknown>[] =>
  readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('the agent settings name a program per hook event', () => {
  it('start node on the one-file hook only for PermissionRequest, perl for the rest (PreToolUse with node and the hook as its arguments), with the timeouts as before', () => {
    const settings = agentSettings({ bypass: false, permissionTimeoutS: 60, runner: { node: '/n/node', hook: '/t/dist/hook.cjs', perl: '/usr/bin/perl' } });
    const hooks = settings.hooks as Record<string, { hooks: { command: string; args: string[]; timeout: number }[] }[]>;
    expect(Object.keys(hooks)).toEqual([...HOOK_EVENTS]);
    for (const event of HOOK_EVENTS) {
      const h = hooks[event]![0]!.hooks[0]!;
      expect(h.timeout).toBe(event === 'PermissionRequest' ? 90 : 10);
      if (event === 'PermissionRequest') expect([h.command, ...h.args]).toEqual(['/n/node', '/t/dist/hook.cjs']);
      else if (event === 'PreToolUse') expect([h.command, ...h.args]).toEqual(['/usr/bin/perl', '-e', PRE_TOOL_USE_PL, '--', '/n/node', '/t/dist/hook.cjs']);
      else expect([h.command, h.args[0]]).toEqual(['/usr/bin/perl', '-e']);
    }
  });

  it('start node for every event where there is no perl', () => {
    for (const event of HOOK_EVENTS) expect(hookExec(event, { node: '/n/node', hook: '/h.cjs' })).toEqual({ command: '/n/node', args: ['/h.cjs'] });
  });
});

describe('the one-file hook program (dist/hook.cjs)', () => {
  const spoolOld = join(base, 'old.jsonl');
  const spoolNew = join(base, 'new.jsonl');
  const table: [string, Record<string, unknown> | string, Record<string, string>?][] = [
    ['Read in its own root', { hook_event_name: 'PreToolUse', tool_name: 'Read', tool_input: { file_path: join(own, 'a') } }],
    ['Read in another root', { hook_event_name: 'PreToolUse', tool_name: 'Read', tool_input: { file_path: join(other, 'a') } }],
    ['Bash naming another root', { hook_event_name: 'PreToolUse', tool_name: 'Bash', tool_input: { command: `cat ${other}/x | wc -l` } }],
    ['Grep above another root', { hook_event_name: 'PreToolUse', tool_name: 'Grep', tool_input: { pattern: 'x', path: base } }],
    ['Glob into another root', { hook_event_name: 'PreToolUse', tool_name: 'Glob', tool_input: { pattern: `${base}/oth*/**` } }],
    ['Write of tabcrew files', { hook_event_name: 'PreToolUse', tool_name: 'Write', tool_input: { file_path: boundaries, content: '{}' } }],
    ['a tool without paths', { hook_event_name: 'PreToolUse', tool_name: 'WebFetch', tool_input: { url: 'http://x' } }],
    ['unreadable PreToolUse JSON', '{"hook_event_name":"PreToolUse","tool_name":"Read","tool_input":{"file_path":"'],
    ['Read in another root at level LOW', { hook_event_name: 'PreToolUse', tool_name: 'Read', tool_input: { file_path: join(other, 'a') } }, {}],
    ['a prompt naming another root', { hook_event_name: 'UserPromptSubmit', prompt: `look at ${other}` }],
    ['a Write that ran', { hook_event_name: 'PostToolUse', tool_name: 'Write', tool_input: { file_path: join(own, 'f'), content: 'x' }, tool_response: {} }],
  ];

  it('decides and records the same as the module program (dist/hook.js) on a table of inputs', () => {
    for (const [what, input, env] of table) {
      const text = typeof input === 'string' ? input : JSON.stringify({ session_id: 'c', cwd: own, ...input });
      const guard = env ?? { TABCREW_BOUNDARIES: boundaries, TABCREW_SESSION: 's-own' };
      const old = run({ command: process.execPath, args: [join(DIST, 'hook.js')] }, text, {
        ...guard,
        TABCREW_EVENTS: spoolOld,
        TABCREW_HOOK: join(DIST, 'hook.js'),
      });
      const now = run({ command: process.execPath, args: [join(DIST, 'hook.cjs')] }, text, {
        ...guard,
        TABCREW_EVENTS: spoolNew,
        TABCREW_HOOK: join(DIST, 'hook.cjs'),
      });
      expect(now, what).toBe(old);
    }
    const strip = (r: Record<string, unknown>): Record<string, unknown> => ({ ...r, ts: 0 });
    expect(spoolLines(spoolNew).map(strip)).toEqual(spoolLines(spoolOld).map(strip));
    // The denials the table expects, so "the same" is not "the same nothing".
    expect(spoolLines(spoolNew).filter((r) => r.decision === 'deny')).toHaveLength(6);
  });
});

describe.skipIf(!perl)('the perl hooks of the events that decide nothing', () => {
  it('keep every spool line whole when hooks append at once, large ones included', async () => {
    const spool = join(base, 'concurrent.jsonl');
    const exec = hookExec('PostToolUse', runner);
    const sizes = Array.from({ length: 24 }, (_, i) => (i % 3 === 0 ? 300_000 : 200 + i * 50));
    await Promise.all(
      sizes.map(
        (size, i) =>
          new Promise<void>((done, fail) => {
            const child = spawn(exec.command, exec.args, { env: { TABCREW_EVENTS: spool, TABCREW_LAUNCH: 'L1' }, stdio: ['pipe', 'ignore', 'inherit'] });
            child.on('error', fail);
            child.on('exit', () => done());
            const input = JSON.stringify({
              session_id: 'c',
              hook_event_name: 'PostToolUse',
              tool_name: 'Write',
              tool_input: { file_path: `/w/f${i}`, content: 'x'.repeat(size) },
            });
            // Written in pieces, as a pipe may deliver it.
            for (let at = 0; at < input.length; at += 65_536) child.stdin.write(input.slice(at, at + 65_536));
            child.stdin.end();
          }),
      ),
    );
    const lines = readFileSync(spool, 'utf8').split('\n').filter(Boolean);
    expect(lines).toHaveLength(sizes.length);
    const records = lines.map((l) => JSON.parse(l) as { hook: { tool_input: { file_path: string; content: string } } });
    expect(records.map((r) => r.hook.tool_input.file_path).sort()).toEqual(sizes.map((_, i) => `/w/f${i}`).sort());
    for (const r of records) expect(r.hook.tool_input.content.length).toBe(sizes[Number(r.hook.tool_input.file_path.slice(4))]);
  });

  it('record events while no supervisor runs, read afterwards as the records the node hook would have written', async () => {
    const spool = join(base, 'down.jsonl');
    const env = {
      TABCREW_EVENTS: spool,
      TABCREW_LAUNCH: 'launch-1',
      TABCREW_AGENT: 'Agent_1',
      TABCREW_SOCKET: join(base, 'no-server.sock'),
      TABCREW_SECRET_FILE: join(base, 'secret'),
    };
    writeFileSync(env.TABCREW_SECRET_FILE, 's3cret\n');
    const common = { session_id: 'conv-1', transcript_path: '/t/conv-1.jsonl', cwd: own };
    const events: Record<string, unknown>[] = [
      { hook_event_name: 'SessionStart', source: 'startup', model: 'm' },
      { hook_event_name: 'UserPromptSubmit', prompt: '[ADDER+ from Agent_2 · delivery d-abc123]\n\tdo  it\r\n' },
      {
        hook_event_name: 'PostToolUse',
        tool_name: 'Edit',
        tool_input: { file_path: join(own, 'e.ts'), old_string: 'a', new_string: 'b' },
        tool_response: { ok: 1 },
      },
      { hook_event_name: 'PostToolUseFailure', tool_name: 'Bash', tool_input: { command: 'false' }, error: 'exit 1' },
      { hook_event_name: 'Notification', message: 'waiting', notification_type: 'idle_prompt' },
      { hook_event_name: 'Stop', stop_hook_active: false, last_assistant_message: 'done' },
      { hook_event_name: 'StopFailure', error: { type: 'rate_limit', message: 'slow down' } },
      { hook_event_name: 'SessionEnd', reason: 'other' },
    ];
    const before = Date.now();
    for (const e of events) {
      const out = run(hookExec(String(e.hook_event_name), runner), JSON.stringify({ ...common, ...e }, null, 2), env);
      expect(out).toBe('');
    }
    const after = Date.now();
    // The supervisor starts now and reads what happened.
    const records = await new SpoolReader(spool).refresh();
    expect(records).toHaveLength(events.length);
    records.forEach((r, i) => {
      expect({ ...r, ts: 0 }).toEqual({ ...toHookRecord({ ...common, ...events[i] }, 0, 'launch-1') });
      expect(r.ts).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
      expect(r.ts).toBeLessThanOrEqual(after);
    });
    expect(records[1]).toMatchObject({ delivery_id: 'd-abc123', prompt_fp: expect.any(String) });
    expect(records[2]).toMatchObject({ file_path: join(own, 'e.ts'), input_fp: expect.any(String) });
    expect(records[6]).toMatchObject({ event: 'StopFailure', error: 'rate_limit' });
  });

  it('at Stop asks the supervisor to count usage as its agent, and ends only after the answer', async () => {
    const socket = join(base, 'count.sock');
    const secretFile = join(base, 'secret-stop');
    writeFileSync(secretFile, 'k"ey\\1\n');
    const asked: unknown[] = [];
    const server = createServer((c) => {
      let buf = '';
      c.on('data', (d) => {
        buf += String(d);
        if (!buf.includes('\n')) return;
        asked.push(JSON.parse(buf.slice(0, buf.indexOf('\n'))));
        setTimeout(() => c.end('{"id":1,"ok":true,"result":{"counted":true}}\n'), 300);
      });
    });
    await new Promise<void>((r) => server.listen(socket, r));
    try {
      const exec = hookExec('Stop', runner);
      const started = Date.now();
      await new Promise<void>((done) => {
        const child = spawn(exec.command, exec.args, {
          env: { TABCREW_EVENTS: join(base, 'stop.jsonl'), TABCREW_SOCKET: socket, TABCREW_AGENT: 'Agent_1', TABCREW_SECRET_FILE: secretFile },
          stdio: ['pipe', 'ignore', 'inherit'],
        });
        child.on('exit', () => done());
        child.stdin.end(JSON.stringify({ session_id: 'c', hook_event_name: 'Stop' }));
      });
      expect(Date.now() - started).toBeGreaterThanOrEqual(300);
      expect(asked).toEqual([{ id: 1, agent: 'Agent_1', secret: 'k"ey\\1', method: 'count_usage', params: {} }]);
      expect(spoolLines(join(base, 'stop.jsonl'))).toHaveLength(1);
    } finally {
      server.close();
    }
  });
});

/*
 * PreToolUse from perl: the supervisor (the real agent socket and ToolGuard over a stand-in
 * state) answers with the node hook's own code; without an answer perl runs the node hook.
 * Each case is run by the node hook alone, and by perl with the supervisor up, down, and
 * answering an older protocol: the same stdout, the same record, exactly one record.
 */
describe.skipIf(!perl)('the perl PreToolUse hook', () => {
  const dir = join(base, 'ptu');
  const runtime2 = join(dir, 'runtime');
  const boundariesFile = boundariesPath(runtime2);
  const secretFile = join(dir, 'secret');
  const SECRET = 'the-secret-4f1d';
  const upSocket = join(dir, 'up.sock');
  const oldSocket = join(dir, 'old.sock');
  const counted: [string, string | undefined][] = [];
  let up: AgentSocket;
  let old: Server;
  // A stand-in for `node`: it notes its arguments and what it was given (not the secret), then runs node.
  const nodeArgv = join(dir, 'node-argv.log');
  const nodeShim = join(dir, 'node-shim');

  beforeAll(async () => {
    mkdirSync(join(runtime2, 'shared'), { recursive: true });
    writeFileSync(
      boundariesFile,
      JSON.stringify({
        version: 1,
        sessions: [
          { id: 's-own', name: 'own', root: own },
          { id: 's-b', name: 'b', root: other },
        ],
      }),
    );
    writeFileSync(secretFile, SECRET + '\n');
    writeFileSync(nodeShim, `#!/bin/sh\nprintf '%s\\n' "$@" "SOCKET=\${TABCREW_SOCKET-unset}" >> '${nodeArgv}'\nexec '${process.execPath}' "$@"\n`);
    chmodSync(nodeShim, 0o755);
    const state = { agents: [{ name: 'Agent_1', sessionId: 's-own' }], sessions: [{ id: 's-own', name: 'own', root: own }] };
    const ledger = {
      count: async (name: string, id?: string) => {
        counted.push([name, id]);
        return undefined;
      },
    };
    const guard = new ToolGuard({
      store: { read: async () => state as never },
      runtimeDir: runtime2,
      env: { HOME: base },
      ledger,
      hook: join(DIST, 'hook.cjs'),
    });
    const supervisor = {
      desk: {
        authenticate: async (agent: string, secret: string) => {
          if (secret !== SECRET) throw new UserError('the secret does not match');
          return VerifiedAgent.make(agent, 's-own');
        },
      },
      preToolUse: (c: VerifiedAgent, p: Parameters<ToolGuard['preToolUse']>[1]) => guard.preToolUse(c, p),
      countUsage: (name: string, id?: string) => ledger.count(name, id),
    } as unknown as Supervisor;
    const log = { info: () => undefined, warn: () => undefined, error: () => undefined } as unknown as Logger;
    up = new AgentSocket({ path: upSocket, supervisor, log });
    expect(await up.start()).toBe('listening');
    // A tabcrew from before pre_tool_use: it refuses the method it does not know.
    old = createServer((c) => {
      c.on('error', () => undefined);
      c.once('data', () => c.end('{"id":1,"ok":false,"error":"unknown method \\"pre_tool_use\\""}\n'));
    });
    await new Promise<void>((r) => old.listen(oldSocket, r));
  });
  afterAll(async () => {
    await up?.close();
    await new Promise((r) => old?.close(r));
  });

  const cases: [string, Record<string, unknown> | string][] = [
    ['Read in its own root', { hook_event_name: 'PreToolUse', tool_name: 'Read', tool_input: { file_path: join(own, 'a') }, tool_use_id: 'toolu_1' }],
    ['Read in another root', { hook_event_name: 'PreToolUse', tool_name: 'Read', tool_input: { file_path: join(other, 'a') }, tool_use_id: 'toolu_2' }],
    ['Bash naming another root', { hook_event_name: 'PreToolUse', tool_name: 'Bash', tool_input: { command: `cat ${other}/x\n| wc -l` } }],
    ['Write of the boundaries file', { hook_event_name: 'PreToolUse', tool_name: 'Write', tool_input: { file_path: boundariesFile, content: '{}' } }],
    ['Read of the hook program', { hook_event_name: 'PreToolUse', tool_name: 'Read', tool_input: { file_path: join(DIST, 'claude', 'pre-tool-use.js') } }],
    ['a tool without paths', { hook_event_name: 'PreToolUse', tool_name: 'WebFetch', tool_input: { url: 'http://x' } }],
    ['unreadable input', '{"hook_event_name":"PreToolUse","tool_name":"Read","tool_input":{"file_path":"'],
    [
      'a Write larger than the socket takes',
      { hook_event_name: 'PreToolUse', tool_name: 'Write', tool_input: { file_path: join(other, 'big'), content: 'x'.repeat(500_000) } },
    ],
  ];
  const text = (input: Record<string, unknown> | string): string =>
    typeof input === 'string' ? input : JSON.stringify({ session_id: 'c', transcript_path: '/t/c.jsonl', cwd: own, ...input }, null, 2);

  /** One run: stdout and the spool lines, from a fresh spool. Not execFileSync: the supervisor answers from this process. */
  async function once(
    how: 'node' | 'up' | 'down' | 'old',
    input: string,
    guarded: boolean,
    n: number,
  ): Promise<{ out: string; lines: Record<string, unknown>[] }> {
    const spool = join(dir, `${how}-${n}-${guarded}.jsonl`);
    const env: Record<string, string> = {
      TABCREW_EVENTS: spool,
      TABCREW_LAUNCH: 'launch-1',
      TABCREW_AGENT: 'Agent_1',
      TABCREW_HOOK: join(DIST, 'hook.cjs'),
      ...(guarded ? { TABCREW_BOUNDARIES: boundariesFile, TABCREW_SESSION: 's-own' } : {}),
    };
    const socket = { up: upSocket, down: join(dir, 'nobody.sock'), old: oldSocket }[how as 'up'];
    const exec = how === 'node' ? { command: process.execPath, args: [join(DIST, 'hook.cjs')] } : hookExec('PreToolUse', { ...runner, node: nodeShim });
    const out = await runAsync(exec, input, how === 'node' ? env : { ...env, TABCREW_SOCKET: socket, TABCREW_SECRET_FILE: secretFile });
    return { out, lines: existsSync(spool) ? spoolLines(spool) : [] };
  }
  const strip = (r: Record<string, unknown>): Record<string, unknown> => ({ ...r, ts: 0 });

  it('decides and records like the node hook, with the supervisor up, down, or too old to answer; one record each time', async () => {
    // Down and too old both run the node hook: a few cases are enough to show it gets the input whole.
    const fallbackToo = new Set(['Read in its own root', 'Read in another root', 'unreadable input']);
    const denials: boolean[] = [];
    for (const [n, [what, input]] of cases.entries()) {
      for (const guarded of [true, false]) {
        if (!guarded && !fallbackToo.has(what)) continue;
        const t = text(input);
        const ref = await once('node', t, guarded, n);
        expect(ref.lines, what).toHaveLength(1);
        const hows = fallbackToo.has(what) ? (['up', 'down', ...(n === 1 ? ['old' as const] : [])] as const) : (['up'] as const);
        for (const how of hows) {
          rmSync(nodeArgv, { force: true });
          const got = await once(how, t, guarded, n);
          // Answered by the supervisor, no node started, but for the call too large to send.
          if (how === 'up') expect(existsSync(nodeArgv), `${what}: node started`).toBe(what === 'a Write larger than the socket takes');
          expect(got.out, `${what}, supervisor ${how}, boundaries ${guarded}`).toBe(ref.out);
          expect(got.lines.map(strip), `${what}, supervisor ${how}, boundaries ${guarded}`).toEqual(ref.lines.map(strip));
          if (how === 'up') denials.push(got.lines[0]!.decision === 'deny');
        }
      }
    }
    // The denials the cases expect (in order; the three fallback cases twice, with boundaries and without), so "the same" is not "the same nothing".
    expect(denials).toEqual([false, false, true, false, true, true, true, false, true, false, true]);
  });

  it('has the supervisor count usage (waiting for its call), and runs no node while it answers', async () => {
    counted.length = 0;
    rmSync(nodeArgv, { force: true });
    await once('up', text(cases[0]![1]), true, 100);
    await once('up', text(cases[1]![1]), false, 101);
    expect(counted).toEqual([
      ['Agent_1', 'toolu_1'],
      ['Agent_1', 'toolu_2'],
    ]);
    expect(existsSync(nodeArgv)).toBe(false);
  });

  it('hands the node hook its path as arguments and the input on stdin, never the secret', async () => {
    rmSync(nodeArgv, { force: true });
    const got = await once('down', text(cases[1]![1]), true, 200);
    expect(JSON.parse(got.out).hookSpecificOutput.permissionDecision).toBe('deny');
    expect(readFileSync(nodeArgv, 'utf8')).toBe(`${join(DIST, 'hook.cjs')}\nSOCKET=${join(dir, 'nobody.sock')}\n`);
    for (const event of HOOK_EVENTS) expect(JSON.stringify(hookExec(event, runner))).not.toContain(SECRET);
  });

  it('after 3 s without an answer runs the node hook, which does not ask the silent supervisor again', async () => {
    const silent = join(dir, 'silent.sock');
    let connections = 0;
    const server = createServer((c) => {
      connections++;
      c.on('data', () => undefined);
    });
    await new Promise<void>((r) => server.listen(silent, r));
    rmSync(nodeArgv, { force: true });
    try {
      const spool = join(dir, 'silent.jsonl');
      const exec = hookExec('PreToolUse', { ...runner, node: nodeShim });
      const started = Date.now();
      const out = await new Promise<string>((done, fail) => {
        const child = spawn(exec.command, exec.args, {
          env: {
            PATH: process.env.PATH!,
            HOME: base,
            TABCREW_EVENTS: spool,
            TABCREW_AGENT: 'Agent_1',
            TABCREW_SOCKET: silent,
            TABCREW_SECRET_FILE: secretFile,
            TABCREW_HOOK: join(DIST, 'hook.cjs'),
            TABCREW_BOUNDARIES: boundariesFile,
            TABCREW_SESSION: 's-own',
          },
          stdio: ['pipe', 'pipe', 'inherit'],
        });
        let stdout = '';
        child.stdout.on('data', (d) => (stdout += String(d)));
        child.on('error', fail);
        child.on('exit', () => done(stdout));
        child.stdin.end(text(cases[1]![1]));
      });
      expect(Date.now() - started).toBeGreaterThanOrEqual(2900);
      expect(JSON.parse(out).hookSpecificOutput.permissionDecision).toBe('deny');
      expect(spoolLines(spool)).toHaveLength(1);
      expect(readFileSync(nodeArgv, 'utf8')).toMatch(/SOCKET=unset\n$/);
      expect(connections).toBe(1);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
