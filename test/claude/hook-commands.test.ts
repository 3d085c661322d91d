import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SpoolReader } from '../../src/claude/events.js';
import { findPerl, hookExec, type HookRunner } from '../../src/claude/hook-commands.js';
import { toHookRecord } from '../../src/claude/hook-record.js';
import { agentSettings, HOOK_EVENTS } from '../../src/claude/settings.js';

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

const spoolLines = (file: string): Record<string, unknown>[] =>
  readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('the agent settings name a program per hook event', () => {
  it('start node on the one-file hook only for PreToolUse and PermissionRequest, perl for the rest, with the timeouts as before', () => {
    const settings = agentSettings({ bypass: false, permissionTimeoutS: 60, runner: { node: '/n/node', hook: '/t/dist/hook.cjs', perl: '/usr/bin/perl' } });
    const hooks = settings.hooks as Record<string, { hooks: { command: string; args: string[]; timeout: number }[] }[]>;
    expect(Object.keys(hooks)).toEqual([...HOOK_EVENTS]);
    for (const event of HOOK_EVENTS) {
      const h = hooks[event]![0]!.hooks[0]!;
      expect(h.timeout).toBe(event === 'PermissionRequest' ? 90 : 10);
      if (event === 'PreToolUse' || event === 'PermissionRequest') expect([h.command, ...h.args]).toEqual(['/n/node', '/t/dist/hook.cjs']);
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
