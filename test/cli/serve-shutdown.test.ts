import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStateStore } from '../../src/store/state-store.js';
import { agentRecord, RECORD_TIME } from '../support/records.js';
import { CLI } from '../support/tabcrew.js';
import { REPO, isolated, testEnv } from './run-cli.js';

const home = mkdtempSync(join(tmpdir(), 'tabcrew-shutdown-home-'));
const dirs = isolated();
afterAll(() => {
  try {
    execFileSync('tmux', ['-L', dirs.socket, 'kill-server'], { stdio: 'ignore' });
  } catch {
    // no tmux server was started
  }
  for (const d of [home, dirs.base]) rmSync(d, { recursive: true, force: true });
});

beforeAll(async () => {
  process.env.TABCREW_STATE_KEY = testEnv(home).TABCREW_STATE_KEY;
  const store = await openStateStore({ dir: join(dirs.base, 'state'), keySource: 'env' });
  // Agents to recover whose root is gone: the recovery runs (state, boundaries, tabs) and fails
  // them quickly, so it is still running when the client has already left.
  await store.update((s) => {
    s.sessions.push({ id: 's-1', name: 'app', root: join(dirs.base, 'gone'), createdAt: RECORD_TIME });
    for (let i = 1; i <= 3; i++) {
      s.agents.push(agentRecord({ name: `Agent_${i}`, claudeSessionId: `00000000-0000-4000-8000-00000000000${i}` }));
    }
  });
  delete process.env.TABCREW_STATE_KEY;
});

/** `tabcrew serve` whose client sends initialize and closes its end at once. */
function connectAndClose(): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'serve', ...dirs.flags, '--claude-path', '/bin/true'], {
      cwd: REPO,
      env: testEnv(home),
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
    child.stdin!.end(
      `${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'quick', version: '1' } } })}\n`,
    );
  });
}

describe('a client that disconnects at once', () => {
  it('20 times, with agents in the state: the server exits 0 each time, with no stack on stderr', async () => {
    for (let i = 0; i < 20; i++) {
      const { code, stderr } = await connectAndClose();
      expect({ run: i, code, stderr }).toEqual({ run: i, code: 0, stderr: expect.any(String) });
      expect(stderr).not.toMatch(/\n\s+at |write after end|main\.cjs|Node\.js v/);
      expect(stderr.length).toBeLessThan(2000);
      expect(stderr).toMatch(/recovery: 0 adopted, 0 resumed, 3 failed/);
    }
    // tabcrew.log is appended to, never emptied at a start: every run left its lines.
    const log = readFileSync(join(dirs.base, 'logs', 'tabcrew.log'), 'utf8');
    expect(log.match(/"message":"server started"/g)).toHaveLength(20);
    expect(log.match(/"message":"client disconnected; exiting, agents keep running"/g)).toHaveLength(20);
    expect(statSync(join(dirs.base, 'logs', 'tabcrew.log')).mode & 0o777).toBe(0o600);
  }, 300_000);
});

describe('an error nothing caught', () => {
  it('ends tabcrew with one line on stderr, not a stack or the source line of the bundle', () => {
    // Thrown from a timer once the entry is running, as a late error in the bundle would be.
    const preload = join(dirs.base, 'throw-later.cjs');
    writeFileSync(preload, "setTimeout(() => { throw new Error('boom from a timer'); }, 1500);\n");
    const r = spawnSync(process.execPath, ['-r', preload, CLI, '--version'], { cwd: REPO, env: testEnv(home), encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^tabcrew: internal error: boom from a timer \(at .*throw-later\.cjs:1:\d+\)\)\n$/);
  });
});
