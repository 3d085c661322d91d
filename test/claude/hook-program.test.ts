import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/** dist/hook.js as Claude Code runs it: JSON on stdin, a decision (or nothing) on stdout, exit 0. */
const HOOK = resolve(import.meta.dirname, '../../dist/hook.js');
const base = realpathSync(mkdtempSync(join(tmpdir(), 'tabcrew-hook-')));
const own = join(base, 'own');
const other = join(base, 'app[1]');
const runtime = join(base, 'runtime');
for (const d of [own, other, runtime]) mkdirSync(d);
const boundaries = join(runtime, 'boundaries.json');
const spool = join(runtime, 'events.jsonl');
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

const run = (input: Record<string, unknown>, env: Record<string, string> = { TABCREW_BOUNDARIES: boundaries, TABCREW_SESSION: 's-own' }) =>
  execFileSync(process.execPath, [HOOK], {
    input: JSON.stringify({ session_id: 'c', cwd: own, ...input }),
    env: { PATH: process.env.PATH!, HOME: base, TABCREW_EVENTS: spool, ...env },
    encoding: 'utf8',
  });

describe('the hook program', () => {
  it('denies a PreToolUse into another root with the JSON decision, and records the denial', () => {
    const out = JSON.parse(run({ hook_event_name: 'PreToolUse', tool_name: 'Bash', tool_input: { command: `cat ${other}/x` } }));
    expect(out.hookSpecificOutput).toMatchObject({ hookEventName: 'PreToolUse', permissionDecision: 'deny' });
    expect(out.hookSpecificOutput.permissionDecisionReason).toMatch(/tabcrew session "b"/);
    expect(
      readFileSync(spool, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .at(-1),
    ).toMatchObject({ event: 'PreToolUse', tool_name: 'Bash', decision: 'deny' });
  });

  it('prints nothing for an allowed call, for other events, and at security level LOW (no TABCREW_BOUNDARIES)', () => {
    expect(run({ hook_event_name: 'PreToolUse', tool_name: 'Read', tool_input: { file_path: join(own, 'x') } })).toBe('');
    expect(run({ hook_event_name: 'UserPromptSubmit', prompt: `read ${other}/x` })).toBe('');
    expect(run({ hook_event_name: 'PreToolUse', tool_name: 'Read', tool_input: { file_path: join(other, 'x') } }, {})).toBe('');
  });

  it('refuses a PreToolUse it cannot parse rather than letting it through', () => {
    const out = execFileSync(process.execPath, [HOOK], {
      input: '{"hook_event_name":"PreToolUse","tool_name":"Read","tool_input":{"file_path":"',
      env: { PATH: process.env.PATH!, TABCREW_BOUNDARIES: boundaries, TABCREW_SESSION: 's-own' },
      encoding: 'utf8',
    });
    expect(JSON.parse(out).hookSpecificOutput.permissionDecision).toBe('deny');
  });
});

describe('the hook asks for a usage count (claude/usage-nudge.ts)', () => {
  const socket = join(base, 'count.sock');
  const secretFile = join(runtime, 'agent-secret');
  writeFileSync(secretFile, 'the-secret\n', { mode: 0o600 });
  const spawnHook = (event: string, sock = socket): Promise<{ code: number | null; at: number }> =>
    new Promise((done) => {
      const child = spawn(process.execPath, [HOOK], {
        env: { PATH: process.env.PATH!, HOME: base, TABCREW_EVENTS: spool, TABCREW_AGENT: 'Agent_1', TABCREW_SOCKET: sock, TABCREW_SECRET_FILE: secretFile },
        stdio: ['pipe', 'ignore', 'ignore'],
      });
      child.stdin.end(JSON.stringify({ session_id: 'c', cwd: own, hook_event_name: event, tool_name: 'Bash', tool_input: { command: 'true' } }));
      child.on('exit', (code) => done({ code, at: Date.now() }));
    });

  it('at PreToolUse and Stop it asks over the agent socket as its agent, and ends only after the answer (the tool runs after)', async () => {
    const asked: { line: Record<string, unknown>; at: number }[] = [];
    let answeredAt = 0;
    const server = createServer((conn) => {
      conn.setEncoding('utf8');
      conn.on('data', (d: string) => {
        asked.push({ line: JSON.parse(d.trim()) as Record<string, unknown>, at: Date.now() });
        // A slow count: the hook must wait for it.
        setTimeout(() => {
          answeredAt = Date.now();
          conn.end(JSON.stringify({ id: 1, ok: true, result: { counted: true } }) + '\n');
        }, 400);
      });
    });
    await new Promise<void>((r) => server.listen(socket, r));
    try {
      for (const event of ['PreToolUse', 'Stop']) {
        const { code, at } = await spawnHook(event);
        expect(code).toBe(0);
        expect(at).toBeGreaterThanOrEqual(answeredAt);
      }
      expect(asked.map((a) => a.line)).toEqual([
        { id: 1, agent: 'Agent_1', secret: 'the-secret', method: 'count_usage', params: {} },
        { id: 1, agent: 'Agent_1', secret: 'the-secret', method: 'count_usage', params: {} },
      ]);
      await spawnHook('UserPromptSubmit');
      await spawnHook('PostToolUse');
      expect(asked).toHaveLength(2);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('with no supervisor on the socket it goes on at once', async () => {
    const started = Date.now();
    const { code, at } = await spawnHook('PreToolUse', join(base, 'nobody.sock'));
    expect(code).toBe(0);
    expect(at - started).toBeLessThan(2500);
  });
});
