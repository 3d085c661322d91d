import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, startTabcrew, type Crew } from '../support/tabcrew.js';
import { tail, verify } from '../../src/audit/audit-log.js';

// These scenarios start no agent: they prove the tool contract and the refusals.
const base = mkdtempSync(join(tmpdir(), 'tabcrew-validation-'));
let crew: Crew;

beforeAll(async () => {
  crew = await startTabcrew({
    env: { ...process.env, HOME: base } as Record<string, string>,
    args: ['--max-sessions', '2', '--claude-path', '/nonexistent/claude'],
  });
});
afterAll(async () => {
  await crew?.stop();
  rmSync(base, { recursive: true, force: true });
});

const text = (r: { content: unknown }) => (r.content as { text: string }[])[0].text;

describe('the tool contract', () => {
  it('lists every tool with annotations and an output schema', async () => {
    const { tools } = await crew.client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([
      'answer_request',
      'cancel_coordination',
      'clear_agent_conversation',
      'coordinate_agents',
      'create_agent',
      'create_session',
      'decide_permission',
      'delete_agent',
      'delete_session',
      'get_agent_changes',
      'get_agent_output',
      'get_coordination',
      'get_session_status',
      'list_merges',
      'list_messages',
      'list_pending_permissions',
      'list_pending_requests',
      'list_roles',
      'list_sessions',
      'merge_agent_work',
      'recover_session',
      'resume_agent',
      'send_message_to_agent',
      'start_new_agent_conversation',
      'wake_agent',
    ]);
    for (const t of tools) {
      expect(t.annotations, t.name).toBeDefined();
      expect(t.outputSchema?.type, t.name).toBe('object');
    }
    expect(tools.find((t) => t.name === 'get_session_status')?.annotations?.readOnlyHint).toBe(true);
    expect(tools.find((t) => t.name === 'delete_session')?.annotations?.destructiveHint).toBe(true);
  });

  it('offers resource templates for screens, transcripts, TODO.md and status, with subscriptions', async () => {
    const { resourceTemplates } = await crew.client.listResourceTemplates();
    expect(resourceTemplates.map((t) => t.uriTemplate).sort()).toEqual([
      'tabcrew://agents/{agent}/changes',
      'tabcrew://agents/{agent}/screen',
      'tabcrew://agents/{agent}/transcript',
      'tabcrew://permissions/pending',
      'tabcrew://requests/pending',
      'tabcrew://sessions/{session}/status',
      'tabcrew://sessions/{session}/todo',
    ]);
    expect(crew.client.getServerCapabilities()?.resources?.subscribe).toBe(true);
    expect(crew.client.getInstructions()).toMatch(/create_session/);
  });

  it('creates a session on a realpath root and lists it', async () => {
    const root = join(base, 'app');
    mkdirSync(root);
    const s = await crew.ok('create_session', { root: join(root, '.'), name: 'app' });
    expect(s).toMatchObject({ name: 'app', root });
    expect(s.session_id).toMatch(/^s-/);
    const { sessions } = await crew.ok('list_sessions');
    expect(sessions).toEqual([{ session_id: s.session_id, name: 'app', root, agents: [] }]);
    const status = await crew.ok('get_session_status', { session: 'app' });
    expect(status).toMatchObject({ session_id: s.session_id, agents: [], todo: null });
  });

  it('creates a session on ~/code/app: the ~ is the server HOME', async () => {
    mkdirSync(join(base, 'code', 'app'), { recursive: true });
    const s = await crew.ok('create_session', { root: '~/code/app', name: 'tilde' });
    expect(s).toMatchObject({ name: 'tilde', root: join(base, 'code', 'app') });
    await crew.ok('delete_session', { session: 'tilde' });
  });

  it('refuses a root inside another session root, naming that session', async () => {
    mkdirSync(join(base, 'app', 'sub'));
    const r = await crew.call('create_session', { root: join(base, 'app', 'sub') });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/inside the root of session "app"/);
  });

  it('refuses relative and missing roots with a message saying what to fix', async () => {
    const rel = await crew.call('create_session', { root: 'app' });
    expect(rel.isError).toBe(true);
    expect(text(rel)).toMatch(/not an absolute path/);
    const missing = await crew.call('create_session', { root: join(base, 'nope') });
    expect(text(missing)).toMatch(/does not exist/);
  });

  it('enforces --max-sessions and names the flag', async () => {
    mkdirSync(join(base, 'two'));
    mkdirSync(join(base, 'three'));
    await crew.ok('create_session', { root: join(base, 'two') });
    const r = await crew.call('create_session', { root: join(base, 'three') });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/--max-sessions \(2\)/);
  });

  it('refuses a message over 100 KB and an unknown agent, changing nothing', async () => {
    const big = await crew.call('send_message_to_agent', { agent: 'Agent_1', message: 'x'.repeat(100 * 1024 + 1) });
    expect(big.isError).toBe(true);
    expect(text(big)).toMatch(/limit is 102400 \(100 KB\)/);
    const unknown = await crew.call('send_message_to_agent', { agent: 'Agent_9', message: 'hi' });
    expect(text(unknown)).toMatch(/no agent named "Agent_9"/);
  });

  it('refuses an unknown session and a bad permission mode', async () => {
    const r = await crew.call('create_agent', { session: 'ghost' });
    expect(text(r)).toMatch(/no session "ghost"/);
    const mode = await crew.call('create_agent', { session: 'app', permission_mode: 'yolo' });
    expect(mode.isError).toBe(true);
  });

  it('refuses a flag-like model and a role with NUL or newline as bad input, never as an internal failure', async () => {
    for (const args of [{ model: '--dangerously-skip-permissions' }, { model: '-p' }, { role: 'tests\u0000--x' }, { role: 'line one\nline two' }]) {
      const r = await crew.call('create_agent', { session: 'app', ...args });
      expect(r.isError, JSON.stringify(args)).toBe(true);
      expect(text(r)).not.toMatch(/failed:/);
      expect(text(r)).toMatch(/model|role/);
    }
    expect((await crew.ok('list_sessions')).sessions.find((s: { name: string }) => s.name === 'app').agents).toEqual([]);
  });

  it('refuses create_agent up front when Claude Code is not installed, creating nothing', async () => {
    const r = await crew.call('create_agent', { session: 'app' });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/Claude Code was not found .*--claude-path/);
    expect((await crew.ok('list_sessions')).sessions.find((s: { name: string }) => s.name === 'app').agents).toEqual([]);
  });

  it('a Claude Code that dies at start-up fails create_agent fast, with its last words, leaving no agent', async () => {
    const fake = join(base, 'dying-claude');
    writeFileSync(fake, '#!/bin/sh\necho "claude: cannot start, config is broken" >&2\nexit 3\n', { mode: 0o755 });
    const other = await startTabcrew({ env: { ...process.env, HOME: base } as Record<string, string>, args: ['--claude-path', fake] });
    try {
      mkdirSync(join(base, 'dying'));
      await other.ok('create_session', { root: join(base, 'dying') });
      const started = Date.now();
      const r = await other.call('create_agent', { session: 'dying' });
      expect(r.isError).toBe(true);
      expect(text(r)).toMatch(/Agent_1 could not start: .*cannot start, config is broken/);
      expect(Date.now() - started).toBeLessThan(30_000);
      expect((await other.ok('list_sessions')).sessions[0].agents).toEqual([]);
      expect(other.windows()).toEqual([]);
    } finally {
      await other.stop();
    }
  });

  it('an agent not ready within --start-timeout is returned as starting, with a note', async () => {
    const slow = join(base, 'silent-claude');
    writeFileSync(slow, '#!/bin/sh\nexec sleep 60\n', { mode: 0o755 });
    const other = await startTabcrew({
      env: { ...process.env, HOME: base } as Record<string, string>,
      args: ['--claude-path', slow, '--start-timeout', '3'],
    });
    try {
      mkdirSync(join(base, 'slow'));
      await other.ok('create_session', { root: join(base, 'slow') });
      const a = await other.ok('create_agent', { session: 'slow' });
      expect(a).toMatchObject({ agent: 'Agent_1', status: 'starting' });
      expect(a.note).toMatch(/not ready after 3 s/);
      expect((await other.ok('get_session_status', { session: 'slow' })).agents[0].status).toBe('starting');
      await other.ok('delete_agent', { agent: 'Agent_1' });
      expect(other.windows()).toEqual([]);
    } finally {
      await other.stop();
    }
  });

  it('deletes a session without agents', async () => {
    const r = await crew.ok('delete_session', { session: 'two' });
    expect(r).toMatchObject({ deleted: true, agents_deleted: [] });
  });
});

describe('the audit log', () => {
  it('holds a tool call on disk even when the server is SIGKILLed right after it returned', async () => {
    const other = await startTabcrew({ env: { ...process.env, HOME: base } as Record<string, string> });
    mkdirSync(join(base, 'audited'));
    await other.ok('create_session', { root: join(base, 'audited'), name: 'audited' });
    process.kill(other.pid!, 'SIGKILL');
    const records = await tail(other.dirs.logs, { type: 'tool_call' });
    expect(records.at(-1)).toMatchObject({ type: 'tool_call', tool: 'create_session', outcome: 'ok', caller: 'tabcrew-tests' });
    expect((await verify(other.dirs.logs)).ok).toBe(true);
    await other.stop();
  });
});

describe('the command line', () => {
  const run = promisify(execFile);

  it('exits 2 with a usage line on an unknown flag or a bad value', async () => {
    for (const args of [
      ['serve', '--bogus'],
      ['serve', '--max-agents', 'zero'],
      ['serve', '--backend', 'kitty'],
    ]) {
      const err = await run(process.execPath, [CLI, ...args]).catch((e: { code: number; stderr: string }) => e);
      expect((err as { code: number }).code, args.join(' ')).toBe(2);
      expect((err as { stderr: string }).stderr).toMatch(/usage: tabcrew/);
    }
  });

  it('takes every flag from a TABCREW_* variable too', async () => {
    const err = await run(process.execPath, [CLI, 'serve'], { env: { ...process.env, TABCREW_MAX_AGENTS: '-3' } }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect((err as { code: number }).code).toBe(2);
    expect((err as { stderr: string }).stderr).toMatch(/max-agents/);
  });
});
