import { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTabcrew, type Crew } from '../support/tabcrew.js';
import { SECRET_CORPUS } from '../audit/secret-corpus.js';

/**
 * Security levels through the MCP server. Agents here are a stand-in `claude` that never
 * becomes ready: these rules act before and around Claude Code, not inside it.
 */
const base = realpathSync(mkdtempSync(join(tmpdir(), 'tabcrew-security-')));
const stand_in = join(base, 'claude');
const crews: Crew[] = [];
const env = { ...process.env, HOME: join(base, 'home') } as Record<string, string>;

beforeAll(() => {
  mkdirSync(join(base, 'home'));
  writeFileSync(stand_in, '#!/bin/sh\nexec sleep 60\n', { mode: 0o755 });
  for (const d of ['a', 'b', 'allowed', 'allowed/app', 'elsewhere']) mkdirSync(join(base, d));
});
afterAll(async () => {
  for (const c of crews) await c.stop();
  rmSync(base, { recursive: true, force: true });
});

async function crew(args: string[], onElicit?: Parameters<typeof startTabcrew>[0]['onElicit']): Promise<Crew> {
  const c = await startTabcrew({ env, args: ['--claude-path', stand_in, '--start-timeout', '1', ...args], onElicit });
  crews.push(c);
  return c;
}
const text = (r: { content: unknown }) => (r.content as { text: string }[])[0].text;

describe('security level MEDIUM (the default)', () => {
  let c: Crew;
  beforeAll(async () => (c = await crew([])));

  it('refuses / and the home directory itself as roots', async () => {
    expect(text(await c.call('create_session', { root: '/' }))).toMatch(/filesystem root/);
    expect(text(await c.call('create_session', { root: join(base, 'home') }))).toMatch(/home directory itself/);
    expect(text(await c.call('create_session', { root: '/etc' }))).toMatch(/system directory/);
  });

  it('refuses bypassPermissions without --allow-bypass', async () => {
    await c.ok('create_session', { root: join(base, 'a'), name: 'a' });
    const r = await c.call('create_agent', { session: 'a', permission_mode: 'bypassPermissions' });
    expect(text(r)).toMatch(/needs tabcrew started with --allow-bypass/);
  });

  it("launches agents with rules that deny Claude Code's file tools in other sessions' roots", async () => {
    await c.ok('create_session', { root: join(base, 'b'), name: 'b' });
    const a = await c.ok('create_agent', { session: 'b' });
    const settings = JSON.parse(readFileSync(join(c.dirs.runtime, 'agents', a.claude_session_id, 'settings.json'), 'utf8'));
    expect(settings.permissions.deny).toEqual([`Read(/${join(base, 'a')}/**)`, `Edit(/${join(base, 'a')}/**)`]);
  });

  it('rate-limits messages per agent and says when to retry', async () => {
    // The benchmark's stand-in reaches idle, so a message can really be typed.
    const standIn = join(import.meta.dirname, '../../bench/stand-in-claude.mjs');
    const limited = await crew(['--rate-limit-burst', '1', '--rate-limit-per-minute', '2', '--claude-path', standIn, '--start-timeout', '20']);
    await limited.ok('create_session', { root: join(base, 'elsewhere') });
    await limited.ok('create_agent', { session: 'elsewhere' });
    // A delivery that was typed keeps its token (one that typed nothing gives it back: test/supervisor/races.test.ts).
    const first = await limited.ok('send_message_to_agent', { agent: 'Agent_1', message: 'hi' });
    expect(first.delivered).toBe('confirmed');
    const second = await limited.call('send_message_to_agent', { agent: 'Agent_1', message: 'hi', idle_wait_s: 0 });
    expect(text(second)).toMatch(/more than 2 a minute .* Retry in \d+(\.\d)? s/);
  });
});

describe('secrets never reach the logs', () => {
  it('a corpus of secrets sent as messages, names, roles and roots leaves no value under the log dir', async () => {
    // Every call is recorded, refused or not; refusals keep this fast (no agent starts).
    const c = await crew([]);
    for (const { text: secret } of SECRET_CORPUS) {
      const oneLine = secret.replace(/[[\]\p{Cc}]/gu, ' ').slice(0, 64);
      await c.call('send_message_to_agent', { agent: 'Agent_1', message: secret, idle_wait_s: 0 });
      await c.call('create_session', { root: '/nonexistent', name: oneLine });
      await c.call('create_session', { root: `/nonexistent/${secret}` });
      await c.call('create_agent', { session: 'no-such-session', role: secret, initial_task: secret });
    }
    await c.disconnect();
    const logs = readdirSync(c.dirs.logs)
      .map((f) => readFileSync(join(c.dirs.logs, f), 'utf8'))
      .join('\n');
    expect(logs.length).toBeGreaterThan(1000);
    const leaked = SECRET_CORPUS.flatMap((e) => e.secrets).filter((value) => logs.includes(value));
    expect(leaked).toEqual([]);
  });
});

describe('security level LOW', () => {
  it('accepts the home directory as a root and bypassPermissions', async () => {
    const c = await crew(['--security-level', 'LOW']);
    await c.ok('create_session', { root: join(base, 'home') });
    const a = await c.call('create_agent', { session: 'home', permission_mode: 'bypassPermissions' });
    expect(a.isError).toBeFalsy();
  });
});

describe('security level HIGH', () => {
  const high = ['--security-level', 'HIGH', '--allowed-root', join(base, 'allowed'), '--allow-bypass'];

  it('requires roots under --allowed-root and never allows bypass', async () => {
    const c = await crew(high);
    expect(text(await c.call('create_session', { root: join(base, 'elsewhere') }))).toMatch(/not under an allowed root/);
    await c.ok('create_session', { root: join(base, 'allowed', 'app'), name: 'app' });
    expect(text(await c.call('create_agent', { session: 'app', permission_mode: 'bypassPermissions', confirm: 'app' }))).toMatch(
      /never allowed at security level HIGH/,
    );
  });

  it('without elicitation, HIGH-risk tools need confirm equal to the target name', async () => {
    const c = await crew(high);
    await c.ok('create_session', { root: join(base, 'allowed', 'app'), name: 'app' });
    expect(text(await c.call('create_agent', { session: 'app' }))).toMatch(/call it again with confirm: "app"/);
    expect(text(await c.call('create_agent', { session: 'app', confirm: 'other' }))).toMatch(/does not match the target "app"/);
    expect((await c.ok('list_sessions')).sessions[0].agents).toEqual([]);
    expect((await c.ok('create_agent', { session: 'app', confirm: 'app' })).agent).toBe('Agent_1');
    expect(text(await c.call('delete_session', { session: 'app' }))).toMatch(/confirm: "app"/);
    expect(await c.ok('delete_session', { session: 'app', confirm: 'app' })).toMatchObject({ deleted: true });
  });

  it('with elicitation, a person who accepts lets the tool run', async () => {
    const asked: string[] = [];
    const c = await crew(high, (m) => (asked.push(m), { action: 'accept', content: { confirm: true } }));
    await c.ok('create_session', { root: join(base, 'allowed', 'app'), name: 'app' });
    expect(await c.ok('delete_session', { session: 'app' })).toMatchObject({ deleted: true });
    expect(asked).toEqual(['tabcrew runs at security level HIGH. Allow delete_session on app?']);
  });

  it('with elicitation, a person who declines stops the tool, and nothing changes', async () => {
    const c = await crew(high, () => ({ action: 'decline' }));
    await c.ok('create_session', { root: join(base, 'allowed', 'app'), name: 'app' });
    expect(text(await c.call('delete_session', { session: 'app' }))).toMatch(/not confirmed \(the person chose decline\); nothing was done/);
    expect((await c.ok('list_sessions')).sessions).toHaveLength(1);
  });
});
