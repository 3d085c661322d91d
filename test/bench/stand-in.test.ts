import { mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyScreen, findInputBox } from '../../src/claude/screen.js';
import { startTabcrew, type Crew } from '../support/tabcrew.js';

/**
 * The benchmark's stand-in agent (bench/stand-in-claude.mjs) must keep behaving like
 * Claude Code as tabcrew sees it: argv, hooks, the idle screen, bracketed paste, the
 * transcript, /exit. Driven through the real server over stdio, as the bench drives it.
 */
const standIn = resolve(import.meta.dirname, '../../bench/stand-in-claude.mjs');
const base = realpathSync(mkdtempSync(join(tmpdir(), 'tabcrew-stand-in-')));
const root = join(base, 'app');
let crew: Crew;

beforeAll(async () => {
  mkdirSync(root);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^(TMUX|TMUX_PANE|XDG_CONFIG_HOME|CLAUDECODE|CLAUDE_.*|TABCREW_.*|STAND_IN_.*)$/.test(k)) env[k] = v;
  }
  // The state key goes to a file under the test's HOME, never the Keychain or ~/.config.
  Object.assign(env, { HOME: base, XDG_CONFIG_HOME: join(base, '.config'), TABCREW_KEY_SOURCE: 'file', STAND_IN_TURN_MS: '100' });
  crew = await startTabcrew({ env, args: ['--claude-path', standIn, '--start-timeout', '20'] });
  await crew.ok('create_session', { root, name: 'app' });
});

afterAll(async () => {
  await crew?.stop();
  rmSync(base, { recursive: true, force: true });
});

describe('the stand-in agent under tabcrew', () => {
  it('reaches idle by its SessionStart hook, in its own tmux window', async () => {
    const a = await crew.ok('create_agent', { session: 'app', role: 'bench' });
    expect(a).toMatchObject({ agent: 'Agent_1', status: 'idle', backend: 'tmux' });
    expect(crew.windows()).toEqual(['Agent_1']);
    const status = await crew.ok('get_session_status', { session: 'app' });
    expect(status.agents[0]).toMatchObject({ agent: 'Agent_1', status: 'idle', status_source: 'hook' });
  });

  it('a delivery is confirmed by UserPromptSubmit, and the reply and tokens come from its transcript', async () => {
    const sent = await crew.ok('send_message_to_agent', { agent: 'Agent_1', message: 'two\nlines', wait_for_reply: true, timeout_s: 20 });
    expect(sent).toMatchObject({ delivered: 'confirmed', status: 'idle' });
    expect(sent.reply).toMatch(/^Stand-in reply 1: received \d+ characters\.$/);
    const status = await crew.ok('get_session_status', { session: 'app' });
    expect(status.agents[0].last_reply).toBe(sent.reply);
    expect(status.agents[0].tokens.input).toBeGreaterThan(0);
    const out = await crew.ok('get_agent_output', { agent: 'Agent_1' });
    expect(classifyScreen(out.screen)).toBe('idle');
    expect(findInputBox(out.screen)).toMatchObject({ name: 'Agent_1', text: '' });
  });

  it('a delivery without waiting for the reply is confirmed', async () => {
    const started = Date.now();
    const sent = await crew.ok('send_message_to_agent', { agent: 'Agent_1', message: 'quick one' });
    expect(sent.delivered).toBe('confirmed');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('delete_agent ends it with /exit (SessionEnd) and closes its window', async () => {
    await new Promise((r) => setTimeout(r, 500)); // let the last turn end
    const d = await crew.ok('delete_agent', { agent: 'Agent_1' });
    expect(d).toMatchObject({ deleted: true });
    expect(d.transcript_path).toMatch(/\.jsonl$/);
    expect(crew.windows()).toEqual([]);
  });
});
