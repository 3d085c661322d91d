import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/audit/logger.js';
import { defaultConfig } from '../../src/config.js';
import type { AgentRecord } from '../../src/store/types.js';
import type { TabHandle, TabInfo, TerminalBackend } from '../../src/terminals/backend.js';
import type { Services } from '../../src/supervisor/context.js';
import { stopAgentProcess } from '../../src/supervisor/lifecycle.js';
import { AgentObserver, tabTag } from '../../src/supervisor/observer.js';
import { Owner } from '../../src/supervisor/owner.js';

const base = mkdtempSync(join(tmpdir(), 'tabcrew-lifecycle-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

const ID = '11111111-1111-4111-8111-111111111111';

/** A terminal whose one tab holds a program that has ended: nothing to ask, only to close. */
function terminal(tabs: TabInfo[]): TerminalBackend & { closed: string[] } {
  const closed: string[] = [];
  return {
    name: 'tmux',
    calls: 0,
    closed,
    createTab: async () => ({ backend: 'tmux', id: '@new' }),
    paste: async () => undefined,
    sendKeys: async () => undefined,
    readScreen: async () => '',
    readScreens: async () => new Map(),
    listTabs: async () => tabs,
    closeTab: async (t: TabHandle) => void closed.push(t.id),
    dispose: async () => undefined,
  };
}

describe('stopping an agent', () => {
  it('closes its tab found by tag even when the state never got the tab handle (a crash during create)', async () => {
    const backend = terminal([
      { backend: 'tmux', id: '@7', tag: tabTag('Agent_1', ID), group: 's-1', title: 'Agent_1', alive: false },
      { backend: 'tmux', id: '@8', tag: 'someone else', group: 's-1', title: 'other', alive: true },
    ]);
    const ctx: Services = {
      config: { ...defaultConfig(), runtimeDir: base },
      store: undefined as never,
      backend,
      log: silentLogger,
      env: {},
      observer: new AgentObserver({ store: undefined as never, backend, log: silentLogger, runtimeDir: base, env: {} }),
      owner: new Owner(),
    };
    const agent = { name: 'Agent_1', claudeSessionId: ID, tab: null } as unknown as AgentRecord;
    await stopAgentProcess(ctx, agent, { id: 's-1', name: 'app', root: base, createdAt: '' });
    expect(backend.closed).toEqual(['@7']);
  });
});
