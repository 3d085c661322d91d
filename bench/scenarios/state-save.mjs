/**
 * state_save_1000_agents_ms: one `store.update` (lock, read newest, change one agent,
 * encode, temp file + fsync, shift generations, rename, fsync dir, unlock) on a state
 * holding 1,000 agents in 20 sessions, on the store `openStack` wires (what `serve` uses).
 * Median of 20 saves. state_read_1000_agents_ms: one `store.read` of the same state
 * (tools read the state several times per call). When the build has the encrypted store
 * (openStateStore), the same save is measured on it too, with a key file in the run's
 * temp tree.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { dist, median, openInProcess, round } from '../support.mjs';

const AGENTS = 1000;
const SAVES = 20;

function fill(state, roots) {
  const now = new Date().toISOString();
  for (let s = 0; s < 20; s++) state.sessions.push({ id: `s-bench${String(s).padStart(4, '0')}`, name: `bench-${s}`, root: roots(s), createdAt: now });
  for (let i = 0; i < AGENTS; i++) {
    const id = randomUUID();
    state.agents.push({
      name: `Agent_${state.nextAgentNumber++}`,
      sessionId: state.sessions[i % 20].id,
      launch: { role: `worker ${i} with a role of ordinary length`, model: 'sonnet', permissionMode: 'acceptEdits' },
      claudeSessionId: id,
      pastClaudeSessionIds: [randomUUID()],
      status: 'idle',
      statusSource: 'hook',
      since: now,
      tab: { backend: 'tmux', id: `@${i + 1}`, pane: `%${i + 1}`, pid: 100000 + i },
      createdAt: now,
      launchId: randomUUID(),
      trust: 'already_trusted',
    });
  }
}

async function measure(store) {
  const saves = [];
  const reads = [];
  for (let i = 0; i < SAVES; i++) {
    let t0 = performance.now();
    await store.update((state) => {
      const a = state.agents[i % state.agents.length];
      a.status = a.status === 'idle' ? 'busy' : 'idle';
      a.since = new Date().toISOString();
    });
    saves.push(performance.now() - t0);
    t0 = performance.now();
    const state = await store.read();
    reads.push(performance.now() - t0);
    if (state.agents.length !== AGENTS) throw new Error(`state holds ${state.agents.length} agents, not ${AGENTS}`);
  }
  return { save: median(saves), read: median(reads), max: Math.max(...saves) };
}

export default {
  name: 'state-save',
  standIn: false,
  async run(ctx, report) {
    const dirs = ctx.dirs('state');
    const stack = await openInProcess(ctx, { dirs, socket: ctx.socket('state') });
    await stack.store.update((state) => fill(state, (s) => ctx.root(`state-${s}`)));
    const plain = await measure(stack.store);
    const bytes = (await import('node:fs')).statSync(stack.store.file).size;
    report('state_save_1000_agents_ms', round(plain.save, 2), 'ms', {
      detail: `${stack.store.file.split('/').pop()}, ${Math.round(bytes / 1024)} KB, max ${round(plain.max, 1)}`,
    });
    report('state_read_1000_agents_ms', round(plain.read, 2), 'ms');

    const mod = await dist('store/state-store.js');
    if (typeof mod.openStateStore === 'function' && !stack.store.file.endsWith('.enc')) {
      try {
        const store = await mod.openStateStore({
          dir: join(ctx.base, 'state-enc'),
          keySource: 'file',
          keyFile: join(ctx.base, 'state-enc.key'),
          env: ctx.env(),
        });
        await store.update((state) => fill(state, (s) => ctx.root(`state-${s}`)));
        const enc = await measure(store);
        report('state_save_1000_agents_encrypted_ms', round(enc.save, 2), 'ms', { detail: 'openStateStore (XChaCha20-Poly1305), not yet what serve uses' });
      } catch (e) {
        report('state_save_1000_agents_encrypted_ms', null, 'ms', { note: `encrypted store could not be measured: ${e.message.slice(0, 160)}` });
      }
    }
  },
};
