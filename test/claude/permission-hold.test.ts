import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { holdPermission } from '../../src/claude/permission-hold.js';
import { createOnce, decisionPath, inputFingerprint, readJson, requestPath, type PermissionRequestFile } from '../../src/claude/permission-files.js';

/** The file protocol between an agent's PermissionRequest hook and the supervisor (claude/permission-files.ts). */
const HOOK = resolve(import.meta.dirname, '../../dist/hook.js');
const base = realpathSync(mkdtempSync(join(tmpdir(), 'tabcrew-permission-hold-')));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
const fresh = () => {
  const d = join(base, `a${n++}`);
  mkdirSync(d);
  return { dir: join(d, 'permissions'), spool: join(d, 'events.jsonl') };
};
const CALL = {
  hook_event_name: 'PermissionRequest',
  session_id: 'c-1',
  tool_name: 'Bash',
  tool_input: { command: 'npm install && PASSWORD=hunter2-secret npm test' },
};

/** The request the hook wrote, once it is there (bounded). */
async function requestIn(dir: string): Promise<PermissionRequestFile> {
  for (let i = 0; i < 200; i++) {
    const name = existsSync(dir) ? readdirSync(dir).find((f) => f.endsWith('.request.json')) : undefined;
    const req = name && readJson<PermissionRequestFile>(join(dir, name));
    if (req) return req;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no request file in ${dir}`);
}

const decide = (dir: string, id: string, decision: 'allow' | 'deny', reason?: string) =>
  createOnce(decisionPath(dir, id), { request_id: id, decision, ...(reason ? { reason } : {}), by: 'Claude Desktop', at: new Date().toISOString() });

describe('the PermissionRequest hold', () => {
  it('writes a private request file with a redacted summary, and answers allow once the supervisor decides', async () => {
    const { dir, spool } = fresh();
    const held = holdPermission(CALL, { dir, spool, agent: 'Agent_1', launch: 'l-1', claudeAlive: () => true });
    const req = await requestIn(dir);
    expect(req).toMatchObject({ agent: 'Agent_1', claude_session_id: 'c-1', tool: 'Bash', pid: process.pid, input_fp: inputFingerprint(CALL.tool_input) });
    expect(req.input_summary).toContain('npm install');
    expect(JSON.stringify(req)).not.toContain('hunter2-secret');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(requestPath(dir, req.request_id)).mode & 0o777).toBe(0o600);

    expect(decide(dir, req.request_id, 'allow')).toBe(true);
    const result = await held;
    expect(result).toEqual({
      request_id: req.request_id,
      outcome: 'allow',
      output: { hookSpecificOutput: { hookEventName: 'PermissionRequest', decision: { behavior: 'allow' } } },
    });
    expect(existsSync(requestPath(dir, req.request_id))).toBe(false);
    // The decision stays as the tombstone: a second one cannot be written.
    expect(decide(dir, req.request_id, 'deny')).toBe(false);
    const records = readFileSync(spool, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(records.at(-1)).toMatchObject({ event: 'PermissionDecided', session_id: 'c-1', decision: 'allow', launch: 'l-1' });
  });

  it('answers deny with a message naming who denied it and why', async () => {
    const { dir, spool } = fresh();
    const held = holdPermission(CALL, { dir, spool, claudeAlive: () => true });
    const req = await requestIn(dir);
    decide(dir, req.request_id, 'deny', 'not on\nthis machine');
    const { output } = await held;
    expect(output).toEqual({
      hookSpecificOutput: {
        hookEventName: 'PermissionRequest',
        decision: {
          behavior: 'deny',
          message: 'The person supervising this agent (through tabcrew, Claude Desktop) denied this Bash call: not on this machine',
        },
      },
    });
  });

  it('gives up after --permission-timeout without printing a decision, closing the request for good', async () => {
    const { dir, spool } = fresh();
    const result = await holdPermission(CALL, { dir, spool, timeoutS: 0.3, pollMs: 50, claudeAlive: () => true });
    expect(result.outcome).toBe('timeout');
    expect(result.output).toBeUndefined();
    expect(readJson(decisionPath(dir, result.request_id))).toMatchObject({ decision: 'closed', why: 'timeout', by: 'hook' });
    expect(decide(dir, result.request_id, 'allow')).toBe(false);
    expect(existsSync(requestPath(dir, result.request_id))).toBe(false);
  });

  it('stops waiting when the call ran after an answer at the tab (a PostToolUse of the same input), or the turn moved on', async () => {
    const { dir, spool } = fresh();
    writeFileSync(spool, JSON.stringify({ event: 'PermissionRequest', session_id: 'c-1' }) + '\n');
    const held = holdPermission(CALL, { dir, spool, pollMs: 50, claudeAlive: () => true });
    await requestIn(dir);
    // Another call's result, and another conversation's Stop, do not count.
    appendFileSync(spool, JSON.stringify({ event: 'PostToolUse', session_id: 'c-1', input_fp: inputFingerprint({ command: 'ls' }) }) + '\n');
    appendFileSync(spool, JSON.stringify({ event: 'Stop', session_id: 'c-2' }) + '\n');
    await new Promise((r) => setTimeout(r, 200));
    appendFileSync(spool, JSON.stringify({ event: 'PostToolUse', session_id: 'c-1', input_fp: inputFingerprint(CALL.tool_input) }) + '\n');
    expect(await held).toMatchObject({ outcome: 'answered_at_tab' });

    const second = fresh();
    const held2 = holdPermission(CALL, { dir: second.dir, spool: second.spool, pollMs: 50, claudeAlive: () => true });
    await requestIn(second.dir);
    appendFileSync(second.spool, JSON.stringify({ event: 'UserPromptSubmit', session_id: 'c-1' }) + '\n');
    expect(await held2).toMatchObject({ outcome: 'answered_at_tab' });
  });

  it('sees the answer at the tab in a line the perl hook wrote (Claude Code hook JSON, claude/hook-commands.ts)', async () => {
    const { dir, spool } = fresh();
    const held = holdPermission(CALL, { dir, spool, pollMs: 50, claudeAlive: () => true });
    await requestIn(dir);
    const raw = { session_id: 'c-1', hook_event_name: 'PostToolUse', tool_name: 'Bash', tool_input: CALL.tool_input, tool_response: { stdout: '' } };
    appendFileSync(spool, JSON.stringify({ launch: 'l-1', ts_s: Math.floor(Date.now() / 1000), hook: raw }) + '\n');
    expect(await held).toMatchObject({ outcome: 'answered_at_tab' });
  });

  it('stops waiting when Claude Code is gone or the hook is told to stop', async () => {
    const a = fresh();
    let alive = true;
    const gone = holdPermission(CALL, { dir: a.dir, pollMs: 50, claudeAlive: () => alive });
    await requestIn(a.dir);
    alive = false;
    expect(await gone).toMatchObject({ outcome: 'claude_ended' });

    const b = fresh();
    const stop = new AbortController();
    const stopped = holdPermission(CALL, { dir: b.dir, pollMs: 5000, signal: stop.signal, claudeAlive: () => true });
    await requestIn(b.dir);
    stop.abort();
    expect(await stopped).toMatchObject({ outcome: 'hook_stopped' });
  });

  it('of two decisions written at once, exactly one is kept', async () => {
    const { dir } = fresh();
    const held = holdPermission(CALL, { dir, claudeAlive: () => true });
    const req = await requestIn(dir);
    const wins = [decide(dir, req.request_id, 'allow'), decide(dir, req.request_id, 'deny')];
    expect(wins).toEqual([true, false]);
    expect((await held).outcome).toBe('allow');
  });
});

describe('the hook program on a PermissionRequest', () => {
  const spawnHook = (env: Record<string, string>) => {
    const child = spawn(process.execPath, [HOOK], { env: { PATH: process.env.PATH!, HOME: base, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stdin.end(JSON.stringify(CALL));
    const exited = new Promise<{ code: number | null; out: string }>((r) => child.on('exit', (code) => r({ code, out })));
    return { child, exited };
  };

  it('prints exactly the decision JSON, and records the request and the decision in the spool', async () => {
    const { dir, spool } = fresh();
    const { exited } = spawnHook({ TABCREW_PERMISSIONS: dir, TABCREW_EVENTS: spool, TABCREW_AGENT: 'Agent_1' });
    const req = await requestIn(dir);
    decide(dir, req.request_id, 'allow');
    const { code, out } = await exited;
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual({ hookSpecificOutput: { hookEventName: 'PermissionRequest', decision: { behavior: 'allow' } } });
    const events = readFileSync(spool, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).event);
    expect(events).toEqual(['PermissionRequest', 'PermissionDecided']);
  }, 30_000);

  it('prints nothing when its timeout passes or Claude Code ends it, so the dialog stays with the person at the tab', async () => {
    const a = fresh();
    const timedOut = await spawnHook({ TABCREW_PERMISSIONS: a.dir, TABCREW_EVENTS: a.spool, TABCREW_PERMISSION_TIMEOUT: '1' }).exited;
    expect(timedOut).toEqual({ code: 0, out: '' });

    const b = fresh();
    const { child, exited } = spawnHook({ TABCREW_PERMISSIONS: b.dir, TABCREW_EVENTS: b.spool });
    const req = await requestIn(b.dir);
    child.kill('SIGTERM');
    expect(await exited).toEqual({ code: 0, out: '' });
    expect(readJson(decisionPath(b.dir, req.request_id))).toMatchObject({ decision: 'closed', why: 'hook_stopped' });
  }, 30_000);

  it('without TABCREW_PERMISSIONS only records the event and leaves the dialog alone', async () => {
    const { spool } = fresh();
    expect(await spawnHook({ TABCREW_EVENTS: spool }).exited).toEqual({ code: 0, out: '' });
  }, 30_000);
});
