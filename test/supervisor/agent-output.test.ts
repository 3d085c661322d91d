import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/audit/logger.js';
import { screenTail } from '../../src/claude/screen-tail.js';
import { defaultConfig } from '../../src/config.js';
import { jsonCodec, StateStore } from '../../src/store/state-store.js';
import type { State } from '../../src/store/types.js';
import type { TabInfo, TerminalBackend } from '../../src/terminals/backend.js';
import { tabTag } from '../../src/supervisor/observer.js';
import { Supervisor } from '../../src/supervisor/supervisor.js';
import { agentRecord } from '../support/records.js';

const base = mkdtempSync(join(tmpdir(), 'tabcrew-agent-output-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
/** Claude Code 2.1.332 on a 40-row terminal: its banner and notice at the top, the input box pinned to the bottom. */
const SCREEN = readFileSync(join(import.meta.dirname, '../fixtures/screens/idle_startup_2.1.332.txt'), 'utf8');

/** A terminal showing SCREEN that reads as tmux does: the last `lines` rows, trailing blank rows dropped. */
function terminal(): TerminalBackend {
  const agent = agentRecord({ tab: { backend: 'tmux', id: '@1' } });
  const tab: TabInfo = { backend: 'tmux', id: '@1', tag: tabTag(agent.name, agent.claudeSessionId!), title: 'Agent_1', alive: true };
  return {
    name: 'tmux',
    calls: 0,
    createTab: async () => tab,
    paste: async () => undefined,
    sendKeys: async () => undefined,
    readScreen: async (_t, lines) => SCREEN.replace(/\n+$/, '').split('\n').slice(-lines).join('\n'),
    readScreens: async () => new Map(),
    listTabs: async () => [tab],
    closeTab: async () => undefined,
    dispose: async () => undefined,
  };
}

describe('get_agent_output', () => {
  it('gives the last lines of content when Claude Code pins its input box below blank rows', async () => {
    const state = join(base, 'state');
    const root = join(base, 'app');
    mkdirSync(root, { recursive: true });
    const store = new StateStore(state, jsonCodec);
    await store.update((s: State) => {
      s.sessions.push({ id: 's-1', name: 'app', root, createdAt: '' });
      s.agents.push(agentRecord({ tab: { backend: 'tmux', id: '@1' } }));
      s.nextAgentNumber = 2;
    });
    const config = { ...defaultConfig(), stateDir: state, runtimeDir: join(base, 'runtime'), logDir: state, sandbox: 'off' as const };
    const sup = new Supervisor({ config, store, backend: terminal(), log: silentLogger, env: process.env });
    const { screen } = await sup.getAgentOutput('Agent_1', 8);
    expect(screen.split('\n')).toHaveLength(8);
    expect(screen).toContain('https://code.claude.com/docs/en/permission-modes');
    expect(screen).toMatch(/❯\n─+\n {2}⏵⏵ auto mode on/);
    expect(screen).not.toMatch(/\n\n\n/);
  });

  it('counts a run of blank lines as one and drops blank lines at the ends', () => {
    expect(screenTail('\n\na\n\n\n\nb  \n\n\nc\n\n\n', 3)).toBe('b\n\nc');
    expect(screenTail('a\n\n\nb', 100)).toBe('a\n\nb');
    expect(screenTail('\n\n\n', 5)).toBe('');
  });
});
