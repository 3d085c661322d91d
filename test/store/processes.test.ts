import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStateStore } from '../../src/store/state-store.js';

/*
 * Real processes, since one process's stores share an event loop and cannot crash alone.
 * The children run the store compiled fresh from src/ (not dist/, which may be stale when
 * vitest is run directly), into node_modules/.cache so they resolve the same packages.
 */
const repo = resolve(import.meta.dirname, '../..');
const compiled = join(repo, 'node_modules', '.cache', `tabcrew-store-test-${process.pid}`);
const base = mkdtempSync(join(tmpdir(), 'tabcrew-procs-'));
const harness = join(base, 'harness.mjs');
// The shortest stale time proper-lockfile allows: a child killed holding the lock blocks the next one this long.
const LOCK_STALE_MS = 2000;

beforeAll(() => {
  execFileSync(
    process.execPath,
    [
      join(repo, 'node_modules/typescript/bin/tsc'),
      join(repo, 'src/store/state-store.ts'),
      ...['--outDir', compiled, '--rootDir', join(repo, 'src'), '--module', 'NodeNext', '--moduleResolution', 'NodeNext'],
      ...['--target', 'ES2022', '--esModuleInterop', '--skipLibCheck', '--strict'],
    ],
    { stdio: 'pipe' },
  );
  writeFileSync(
    harness,
    `
const [storeUrl, mode, dir, keyFile, arg] = process.argv.slice(2);
const { openStateStore } = await import(storeUrl);
const store = await openStateStore({ dir, keySource: 'file', keyFile, env: {}, lockStaleMs: ${LOCK_STALE_MS} });
const agent = (name) => ({ name, sessionId: 's', launch: {}, claudeSessionId: null, pastClaudeSessionIds: [], status: 'idle',
  statusSource: 'hook', since: '', tab: null, createdAt: '' });
console.log('ready');
if (mode === 'create') {
  // As create_agent does: the name comes from nextAgentNumber inside the locked update.
  for (let i = 0; i < Number(arg); i++) {
    console.log(await store.update((s) => { const name = 'Agent_' + s.nextAgentNumber++; s.agents.push(agent(name)); return name; }));
  }
} else {
  for (;;) {
    const n = await store.update((s) => { if (s.nextAgentNumber > Number(arg)) return null; const n = s.nextAgentNumber++; s.agents.push(agent('Agent_' + n)); return n; });
    if (n === null) break;
    console.log('done ' + n);
  }
}
`,
  );
}, 60_000);
afterAll(() => {
  rmSync(base, { recursive: true, force: true });
  rmSync(compiled, { recursive: true, force: true });
});

interface Child {
  proc: ChildProcess;
  lines: string[];
  ready: Promise<void>;
  exited: Promise<number | null>;
}

function runChild(dir: string, keyFile: string, mode: 'create' | 'updates', arg: number): Child {
  const storeUrl = pathToFileURL(join(compiled, 'store', 'state-store.js')).href;
  const proc = spawn(process.execPath, [harness, storeUrl, mode, dir, keyFile, String(arg)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let stderr = '';
  let partial = '';
  let onReady!: () => void;
  const ready = new Promise<void>((r) => (onReady = r));
  proc.stdout!.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop()!;
    for (const line of parts) {
      if (line === 'ready') onReady();
      else lines.push(line);
    }
  });
  proc.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((r) =>
    proc.on('exit', (code, signal) => {
      if (code !== 0 && signal !== 'SIGKILL') process.stderr.write(`child failed (${code}): ${stderr}\n`);
      onReady();
      r(code);
    }),
  );
  return { proc, lines, ready, exited };
}

const place = (name: string) => ({ dir: join(base, name, 'state'), keyFile: join(base, name, 'state.key') });
const openAs = (p: { dir: string; keyFile: string }) => openStateStore({ ...p, keySource: 'file', env: {}, lockStaleMs: LOCK_STALE_MS });

describe('the state store across processes', () => {
  it('loses no agent and reuses no name when two processes create agents at once', async () => {
    const p = place('two');
    // Both start on an empty dir with no key yet: they must also agree on one key.
    const children = [runChild(p.dir, p.keyFile, 'create', 25), runChild(p.dir, p.keyFile, 'create', 25)];
    expect(await Promise.all(children.map((c) => c.exited))).toEqual([0, 0]);
    const reported = children.flatMap((c) => c.lines);
    expect(new Set(reported).size).toBe(50);
    const state = await (await openAs(p)).read();
    expect(state.nextAgentNumber).toBe(51);
    expect(state.agents.map((a) => a.name).sort()).toEqual(Array.from({ length: 50 }, (_, i) => `Agent_${i + 1}`).sort());
  });

  it('keeps every reported update through SIGKILLs at random moments in 200 updates', async () => {
    const p = place('kill');
    const total = 200;
    const reported = new Set<number>();
    let kills = 0;
    for (let run = 0; ; run++) {
      const child = runChild(p.dir, p.keyFile, 'updates', total);
      await child.ready;
      // A handful of kills at random points: each one inside the lock costs LOCK_STALE_MS.
      if (kills < 8) {
        await new Promise((r) => setTimeout(r, Math.random() * 150));
        child.proc.kill('SIGKILL');
        kills++;
      }
      const code = await child.exited;
      for (const line of child.lines) reported.add(Number(line.replace('done ', '')));

      // After every crash the state opens and holds every update the child said was done.
      const state = await (await openAs(p)).read();
      const present = new Set(state.agents.map((a) => Number(a.name.slice('Agent_'.length))));
      for (const n of reported) expect(present.has(n), `update ${n} after run ${run}`).toBe(true);
      expect(state.agents).toHaveLength(state.nextAgentNumber - 1);
      if (code === 0) {
        expect(state.nextAgentNumber).toBe(total + 1);
        expect([...present].sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
        break;
      }
      expect(run).toBeLessThan(20);
    }
    expect(kills).toBeGreaterThan(0);
    expect(readdirSync(p.dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});
