import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpOf } from '../support/http-crew.js';
import { parsePrometheusText, sumOf, valueOf, type Family } from '../support/prom-text.js';
import { startTabcrew, TEST_STATE_KEY, type Crew } from '../support/tabcrew.js';

/**
 * `GET /metrics` on a real `tabcrew serve --http`, with the bench's stand-in agent for speed:
 * scraped with the bearer token, parsed by a strict parser of the text format, and compared
 * with the crew the tools report.
 */
const standIn = resolve(import.meta.dirname, '../../bench/stand-in-claude.mjs');
const base = realpathSync(mkdtempSync(join(tmpdir(), 'tabcrew-metrics-')));
const root = join(base, 'app');
const MESSAGE_MARK = 'private-message-text-7f3a';
let crew: Crew;
let url: string;
let token: string;

beforeAll(async () => {
  mkdirSync(root);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^(TMUX|TMUX_PANE|XDG_CONFIG_HOME|CLAUDECODE|CLAUDE_.*|TABCREW_.*|STAND_IN_.*)$/.test(k)) env[k] = v;
  }
  // A turn long enough for the status to be seen busy before it is seen idle again.
  Object.assign(env, { HOME: base, XDG_CONFIG_HOME: join(base, '.config'), TABCREW_KEY_SOURCE: 'file', STAND_IN_TURN_MS: '1500' });
  crew = await startTabcrew({ env, args: ['--claude-path', standIn, '--start-timeout', '20', '--http', '0'] });
  ({ url, token } = await httpOf(crew));
  await crew.ok('create_session', { root, name: 'app' });
}, 60_000);

afterAll(async () => {
  await crew?.stop();
  rmSync(base, { recursive: true, force: true });
});

async function scrape(): Promise<{ text: string; families: Map<string, Family> }> {
  const r = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await r.text();
  return { text, families: parsePrometheusText(text) };
}

describe('GET /metrics', () => {
  it('without the token, or with a wrong one, is 401 and says nothing of the crew', async () => {
    for (const headers of [{}, { authorization: 'Bearer tc_wrong' }, { authorization: `Basic ${Buffer.from(`x:${token}`).toString('base64')}` }]) {
      const r = await fetch(`${url}/metrics`, { headers });
      expect(r.status).toBe(401);
      expect(await r.text()).not.toMatch(/tabcrew_/);
    }
  });

  it('from another Host is refused before the token is looked at (403)', async () => {
    const { request } = await import('node:http');
    const status = await new Promise<number>((done, fail) => {
      const req = request(`${url}/metrics`, { headers: { host: 'evil.example:80', authorization: `Bearer ${token}` } }, (res) => {
        res.resume();
        done(res.statusCode ?? 0);
      });
      req.on('error', fail);
      req.end();
    });
    expect(status).toBe(403);
  });

  it('counts the agents the crew has, by status, with created and ended agents, tool calls and refusals', async () => {
    for (let i = 0; i < 3; i++) await crew.ok('create_agent', { session: 'app', role: 'bench' });
    await crew.ok('delete_agent', { agent: 'Agent_3' });
    const refused = await crew.call('send_message_to_agent', { agent: 'Agent_99', message: 'hello' });
    expect(refused.isError).toBe(true);

    const { families } = await scrape();
    const status = await crew.ok('get_session_status', { session: 'app' });
    const byStatus: Record<string, number> = {};
    for (const a of status.agents as { status: string }[]) byStatus[a.status] = (byStatus[a.status] ?? 0) + 1;
    expect(sumOf(families, 'tabcrew_agents')).toBe(status.agents.length);
    expect(status.agents.length).toBe(2);
    for (const [s, n] of Object.entries(byStatus)) expect(valueOf(families, 'tabcrew_agents', { node: 'local', status: s })).toBe(n);
    expect(families.get('tabcrew_agents')?.type).toBe('gauge');

    expect(valueOf(families, 'tabcrew_agents_created_total')).toBe(3);
    expect(valueOf(families, 'tabcrew_agents_ended_total', { how: 'deleted' })).toBe(1);
    expect(valueOf(families, 'tabcrew_tool_calls_total', { tool: 'create_agent', outcome: 'ok' })).toBe(3);
    expect(valueOf(families, 'tabcrew_tool_calls_total', { tool: 'send_message_to_agent', outcome: 'refused' })).toBe(1);
    expect(families.get('tabcrew_tool_calls_total')?.type).toBe('counter');
    expect(valueOf(families, 'tabcrew_pending_permission_requests', { node: 'local' })).toBe(0);
    // Not a front: no node links to report.
    expect(families.get('tabcrew_node_up')?.samples).toEqual([]);
  });

  it('a scrape does not count its own reads as tool calls', async () => {
    const before = valueOf((await scrape()).families, 'tabcrew_tool_calls_total', { tool: 'list_sessions', outcome: 'ok' }) ?? 0;
    await scrape();
    const after = valueOf((await scrape()).families, 'tabcrew_tool_calls_total', { tool: 'list_sessions', outcome: 'ok' }) ?? 0;
    expect(after).toBe(before);
  });

  it('a delivery is timed, a turn from busy to idle is observed, tokens are counted by model', async () => {
    const sent = await crew.ok('send_message_to_agent', { agent: 'Agent_1', message: `${MESSAGE_MARK} please` });
    expect(sent).toMatchObject({ delivered: 'confirmed', status: 'busy' });
    let families = (await scrape()).families;
    expect(valueOf(families, 'tabcrew_delivery_seconds_count', { outcome: 'confirmed' })).toBe(1);
    expect(valueOf(families, 'tabcrew_delivery_seconds_sum', { outcome: 'confirmed' })).toBeGreaterThan(0);
    // Each scrape looks at the agents: the one after the stand-in's turn sees it idle.
    for (let i = 0; i < 40 && (valueOf(families, 'tabcrew_turn_duration_seconds_count') ?? 0) < 1; i++) {
      await new Promise((r) => setTimeout(r, 250));
      families = (await scrape()).families;
    }
    expect(valueOf(families, 'tabcrew_turn_duration_seconds_count')).toBe(1);
    const turn = valueOf(families, 'tabcrew_turn_duration_seconds_sum')!;
    expect(turn).toBeGreaterThanOrEqual(1.2);
    expect(turn).toBeLessThan(15);
    expect(families.get('tabcrew_turn_duration_seconds')?.type).toBe('histogram');
    expect(sumOf(families, 'tabcrew_tokens', { node: 'local', model: 'claude-stand-in', kind: 'output' })).toBeGreaterThan(0);
    expect(sumOf(families, 'tabcrew_tokens', { node: 'local', model: 'claude-stand-in', kind: 'input' })).toBeGreaterThan(0);
  });

  it('shows no secret and no agent text: not the token, the state key, a message, a session root', async () => {
    const { text, families } = await scrape();
    const secrets = [token, TEST_STATE_KEY, MESSAGE_MARK, root];
    const keyFile = join(base, '.config', 'tabcrew', 'state.key');
    if (existsSync(keyFile)) secrets.push(readFileSync(keyFile, 'utf8').trim());
    for (const s of secrets) expect(text).not.toContain(s);
    // Labels are node names, statuses, tools, outcomes, model ids, buckets: nothing else.
    const allowed = new Set(['node', 'status', 'tool', 'outcome', 'model', 'kind', 'how', 'le']);
    for (const f of families.values()) for (const s of f.samples) for (const k of Object.keys(s.labels)) expect(allowed.has(k), `${s.name} {${k}}`).toBe(true);
    expect(text).not.toMatch(/Agent_\d/);
  });
});
