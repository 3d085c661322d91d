import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { jsonCodec, StateStore } from '../../src/store/state-store.js';
import { collectReply, type ReplyDeps } from '../../src/supervisor/step-reply.js';

const base = mkdtempSync(join(tmpdir(), 'tabcrew-step-reply-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('waiting for a run step’s reply', () => {
  it('looks at its step and agent in the state without copying all of it (64 steps wait at once)', async () => {
    const store = new StateStore(join(base, 'state'), jsonCodec);
    await store.update((s) => {
      s.runs = [
        {
          id: 'r-1',
          sessionId: 's-1',
          mode: 'parallel',
          task: 't',
          state: 'running',
          createdAt: new Date().toISOString(),
          deadline: new Date(Date.now() + 60_000).toISOString(),
          agents: ['Agent_9'],
          spawned: [],
          removeSpawned: false,
          steps: [{ agent: 'Agent_9', round: 1, status: 'working', deliveryId: 'd-1' }],
        },
      ];
    });
    let copies = 0;
    const read = store.read.bind(store);
    store.read = () => (copies++, read());
    const deps = { store, observer: {}, patchStep: () => Promise.reject(new Error('not used')) } as unknown as ReplyDeps;
    const outcome = await collectReply(deps, 'r-1', 0, Date.now() + 60_000, new AbortController().signal);
    expect(outcome).toEqual({ status: 'failed', error: 'Agent_9 was deleted during the run.' });
    expect(copies).toBe(0);
  });
});
