import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTabcrew, TEST_STATE_KEY, type Crew } from '../support/tabcrew.js';

/**
 * Two tabcrew servers on one state and one tmux server, with the benchmark's stand-in
 * agent (bench/stand-in-claude.mjs: Claude Code's hooks and screens, started in moments),
 * so a race can be run many times.
 */
const standIn = resolve(import.meta.dirname, '../../bench/stand-in-claude.mjs');
const base = realpathSync(mkdtempSync(join(tmpdir(), 'tabcrew-two-servers-')));
const root = join(base, 'app');
const API_KEY = 'sk-ant-api03-two-servers-test-secret-0123456789';
let env: Record<string, string>;
let first: Crew;
const others: Crew[] = [];

beforeAll(async () => {
  mkdirSync(root);
  env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^(TMUX|TMUX_PANE|XDG_CONFIG_HOME|CLAUDECODE|CLAUDE_.*|TABCREW_.*|STAND_IN_.*|ANTHROPIC_.*)$/.test(k)) env[k] = v;
  }
  // The state key in the environment (key source env) and an API key: neither may reach tmux.
  Object.assign(env, {
    HOME: base,
    TABCREW_KEY_SOURCE: 'env',
    TABCREW_STATE_KEY: TEST_STATE_KEY,
    ANTHROPIC_API_KEY: API_KEY,
    STAND_IN_TURN_MS: '100',
    STAND_IN_START_MS: '200',
  });
  // The first server opens tabs slowly (its tmux waits 3 s before making a window), so the
  // moment between reserving an agent and opening its tab is wide enough to race into.
  const slow = join(base, 'slow-tmux');
  mkdirSync(slow);
  const tmux = execFileSync('sh', ['-c', 'command -v tmux'], { encoding: 'utf8' }).trim();
  writeFileSync(join(slow, 'tmux'), `#!/bin/sh\ncase "$*" in *new-window*|*new-session*) sleep 3;; esac\nexec ${tmux} "$@"\n`);
  chmodSync(join(slow, 'tmux'), 0o755);
  first = await startTabcrew({ env: { ...env, PATH: `${slow}:${env.PATH}` }, args: ['--claude-path', standIn, '--start-timeout', '20'] });
  await first.ok('create_session', { root, name: 'app' });
});

afterAll(async () => {
  for (const c of others) await c.disconnect().catch(() => undefined);
  await first?.stop();
  rmSync(base, { recursive: true, force: true });
});

/** Live tabs per tabcrew tag on the shared tmux server. */
function tabsPerTag(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of first.tmux('list-panes', '-a', '-F', '#{pane_dead} #{@tabcrew_tag}').trim().split('\n')) {
    const [dead, tag] = line.split(' ');
    if (dead === '0' && tag) counts.set(tag, (counts.get(tag) ?? 0) + 1);
  }
  return counts;
}

describe('two tabcrew servers on one state', () => {
  it('a second server starting while the first is inside create_agent never launches that agent again (5 races)', async () => {
    for (let round = 0; round < 5; round++) {
      const creating = first.ok('create_agent', { session: 'app' });
      // The reservation is made at once; the tab only 3 s later.
      await new Promise((r) => setTimeout(r, 100 + round * 200));
      const second = await startTabcrew({ env, dirs: first.dirs, socket: first.socket, args: ['--claude-path', standIn, '--start-timeout', '20'] });
      others.push(second);
      const created = await creating;
      const report = await second.ok('recover_session', {});
      expect(report.orphans.filter((o: { why: string }) => o.why === 'duplicate')).toEqual([]);
      const counts = tabsPerTag();
      expect([...counts.values()].every((c) => c === 1)).toBe(true);
      expect(counts.size).toBe(round + 1);
      expect(created.status).toBe('idle');
      await second.disconnect();
    }
  });

  it('a duplicate tab of an agent is reported with what to do, and closed with close_orphans', async () => {
    const status = await first.ok('get_session_status', { session: 'app' });
    const agent = status.agents[0].agent as string;
    const tag = `tabcrew:${agent}:${status.agents[0].claude_session_id as string}`;
    const win = first.tmux('new-window', '-d', '-P', '-F', '#{window_id}', 'sleep 300').trim();
    first.tmux('set-option', '-w', '-t', win, '@tabcrew_tag', tag);
    const seen = await first.ok('recover_session', {});
    expect(seen.orphans).toMatchObject([{ tab: win, why: 'duplicate' }]);
    expect(seen.orphans[0].fix).toMatch(/close_orphans/);
    const closed = await first.ok('recover_session', { close_orphans: true });
    expect(closed.closed_orphans).toEqual([win]);
    expect(tabsPerTag().get(tag)).toBe(1);
  });

  it("no secret and no TABCREW_ variable reaches tmux's global environment, and the ADDER+ prompt is in no process list", async () => {
    await first.ok('create_agent', { session: 'app' });
    const global = first.tmux('show-environment', '-g');
    expect(global).not.toContain(API_KEY);
    expect(global).not.toContain(TEST_STATE_KEY);
    expect(global).not.toMatch(/^TABCREW_/m);
    const serverPid = first.tmux('display-message', '-p', '#{pid}').trim();
    const serverEnviron = readFileSync(`/proc/${serverPid}/environ`, 'utf8');
    expect(serverEnviron).not.toContain(API_KEY);
    expect(serverEnviron).not.toContain(TEST_STATE_KEY);
    expect(serverEnviron).not.toMatch(/(^|\0)TABCREW_/);
    // The agent itself gets its environment, per tab.
    const panePid = first.tmux('list-panes', '-a', '-F', '#{pane_pid}').trim().split('\n')[0]!;
    expect(readFileSync(`/proc/${panePid}/environ`, 'utf8')).toContain(`ANTHROPIC_API_KEY=${API_KEY}`);
    // What `ps` shows of each agent (launch-tab.sh execs the agent in the pane's process).
    for (const pid of first.tmux('list-panes', '-a', '-F', '#{pane_pid}').trim().split('\n')) {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!args.includes('stand-in-claude')) continue;
      expect(args).not.toContain('ADDER+');
      expect(args).toContain('--append-system-prompt-file');
    }
  });
});
