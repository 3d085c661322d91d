import { mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStateStore } from '../../src/store/state-store.js';
import { startTabcrew, TEST_STATE_KEY, type Crew } from '../support/tabcrew.js';

/**
 * The state survives a tabcrew killed at any moment, and two tabcrews on one state dir.
 * Agents are the stand-in (bench/stand-in-claude.mjs): it fires the same hooks as Claude
 * Code, so hundreds of operations fit in a test run.
 */
const STAND_IN = resolve(import.meta.dirname, '../../bench/stand-in-claude.mjs');
const base = realpathSync(mkdtempSync(join(tmpdir(), 'tabcrew-crash-')));
const env = { ...process.env, HOME: join(base, 'home'), STAND_IN_TURN_MS: '50' } as Record<string, string>;
const crews: Crew[] = [];
afterAll(async () => {
  // The newest first: the tabcrew still running on the shared dirs stops before the first crew's stop removes them.
  // Every crew is stopped even if one stop fails (a failure left the others' tmux servers running).
  const failures: unknown[] = [];
  for (const c of [...crews].reverse()) await c.stop().catch((e: unknown) => failures.push(e));
  rmSync(base, { recursive: true, force: true });
  if (failures.length) throw failures[0];
});

async function start(dirs?: Crew['dirs'], socket?: string, extra: string[] = []): Promise<Crew> {
  const c = await startTabcrew({ env, args: ['--claude-path', STAND_IN, '--rate-limit-burst', '100000', ...extra], dirs, socket });
  crews.push(c);
  return c;
}

async function stateOf(dirs: Crew['dirs']): Promise<string[]> {
  const store = await openStateStore({ dir: dirs.state, keySource: 'env', env: { TABCREW_STATE_KEY: TEST_STATE_KEY } });
  return (await store.read()).agents.map((a) => a.name);
}

// A fixed seed: a failure can be replayed.
let seed = 20261121;
const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;

describe('crash safety', () => {
  it('tabcrew SIGKILLed at random moments during 200 create/send/delete operations: the state always decrypts and holds every agent reported created', async () => {
    mkdirSync(join(base, 'home'));
    mkdirSync(join(base, 'app'));
    let crew = await start();
    const { dirs, socket } = crew;
    await crew.ok('create_session', { root: join(base, 'app'), name: 'app' });
    const reported = new Set<string>();
    let kills = 0;
    let nextKill = 5 + Math.floor(random() * 20);
    for (let op = 0; op < 200; op++) {
      const names = [...reported];
      const choice = names.length < 2 ? 'create' : names.length > 5 ? 'delete' : (['create', 'send', 'send', 'delete'] as const)[Math.floor(random() * 4)];
      const target = names[Math.floor(random() * names.length)];
      const call =
        choice === 'create'
          ? crew.call('create_agent', { session: 'app' })
          : choice === 'send'
            ? crew.call('send_message_to_agent', { agent: target, message: `op ${op}` })
            : crew.call('delete_agent', { agent: target });
      if (op === nextKill) {
        await new Promise((r) => setTimeout(r, Math.floor(random() * 300)));
        process.kill(crew.pid!, 'SIGKILL');
        await call.catch(() => undefined);
        // A delete cut short may or may not have happened: that agent is no longer "reported".
        if (choice === 'delete') reported.delete(target);
        kills++;
        nextKill = op + 5 + Math.floor(random() * 20);
        crew = await start(dirs, socket);
        const inState = await stateOf(dirs);
        for (const name of reported) expect(inState, `after kill ${kills}`).toContain(name);
        continue;
      }
      const r = await call;
      const out = r.structuredContent as { agent?: string } | undefined;
      if (!r.isError && choice === 'create') reported.add(out!.agent!);
      if (!r.isError && choice === 'delete') reported.delete(target);
    }
    expect(kills).toBeGreaterThanOrEqual(6);
    const inState = await stateOf(dirs);
    for (const name of reported) expect(inState).toContain(name);
  });

  it('two servers creating agents at once on one state dir: no agent lost, no name reused', async () => {
    mkdirSync(join(base, 'shared'));
    const one = await start(undefined, undefined, ['--no-auto-recover']);
    await one.ok('create_session', { root: join(base, 'shared'), name: 'shared' });
    const two = await start(one.dirs, one.socket, ['--no-auto-recover']);
    const made = await Promise.all(
      [one, two, one, two, one, two, one, two].map(async (c) => (await c.ok('create_agent', { session: 'shared' })).agent as string),
    );
    expect(new Set(made).size).toBe(8);
    const listed = (await two.ok('list_sessions')).sessions.find((s: { name: string }) => s.name === 'shared').agents;
    expect([...listed].sort()).toEqual([...made].sort());
    expect((await stateOf(one.dirs)).filter((n) => made.includes(n)).sort()).toEqual([...made].sort());
  });
});
