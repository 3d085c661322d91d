import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { AgentRecord, State } from '../../src/store/types.js';
import type { TabInfo } from '../../src/terminals/backend.js';
import { AgentWatch } from '../../src/claude/watch.js';
import { tabTag } from '../../src/supervisor/observer.js';
import { planRecovery } from '../../src/supervisor/recovery.js';
import { agentRecord } from '../support/records.js';

const base = mkdtempSync(join(tmpdir(), 'tabcrew-recovery-unit-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

const ID1 = '11111111-1111-4111-8111-111111111111';
const ID2 = '22222222-2222-4222-8222-222222222222';
const agent = (name: string, id: string | null, extra: Partial<AgentRecord> = {}): AgentRecord =>
  agentRecord({ name, claudeSessionId: id, since: '', tab: id ? { backend: 'tmux', id: `@${name}` } : null, createdAt: '', ...extra });
const tab = (name: string, id: string, alive = true, extra: Partial<TabInfo> = {}): TabInfo => ({
  backend: 'tmux',
  id: `@${name}`,
  tag: tabTag(name, id),
  group: 's-1',
  title: name,
  alive,
  ...extra,
});

describe('planning recovery', () => {
  const state: State = {
    version: 1,
    nextAgentNumber: 4,
    sessions: [{ id: 's-1', name: 'app', root: base, createdAt: '' }],
    agents: [agent('Agent_1', ID1), agent('Agent_2', ID2), agent('Agent_3', null, { status: 'cleared' })],
  };

  it('adopts a live tab, resumes a gone or ended one, and leaves cleared agents alone', () => {
    const plan = planRecovery(state, [tab('Agent_1', ID1)]);
    expect(plan.steps.map((s) => `${s.agent.name}:${s.kind}`)).toEqual(['Agent_1:adopt', 'Agent_2:resume']);
    const ended = planRecovery(state, [tab('Agent_1', ID1), tab('Agent_2', ID2, false)]);
    expect(ended.steps[1]).toMatchObject({ kind: 'resume', deadTab: { id: '@Agent_2' } });
  });

  it('re-finds a tab by its tag when its id changed', () => {
    const plan = planRecovery(state, [tab('Agent_1', ID1, true, { id: '@9' }), tab('Agent_2', ID2)]);
    expect(plan.steps[0]).toMatchObject({ kind: 'adopt', tab: { id: '@9' } });
  });

  it('fails an agent whose root is gone, naming the root', () => {
    const gone = { ...state, sessions: [{ ...state.sessions[0], root: join(base, 'deleted') }] };
    expect(planRecovery(gone, []).steps[0]).toMatchObject({ kind: 'fail', reason: `its root ${join(base, 'deleted')} no longer exists` });
  });

  it('lists a tagged tab no agent owns as an orphan, and ignores untagged tabs', () => {
    const stray = tab('Agent_7', '77777777-7777-4777-8777-777777777777');
    const plan = planRecovery(state, [tab('Agent_1', ID1), tab('Agent_2', ID2), stray, { ...stray, id: '@x', tag: null }]);
    expect(plan.orphans).toMatchObject([{ tab: '@Agent_7', tag: stray.tag, title: 'Agent_7', why: 'unknown_agent' }]);
  });
});

describe('planning recovery when two tabcrews share a state', () => {
  const state: State = {
    version: 1,
    nextAgentNumber: 3,
    sessions: [{ id: 's-1', name: 'app', root: base, createdAt: '' }],
    agents: [agent('Agent_1', ID1), agent('Agent_2', ID2, { tab: null, status: 'starting' })],
  };

  it('leaves an agent another live tabcrew is launching to it', () => {
    const plan = planRecovery(state, [tab('Agent_1', ID1)], undefined, (a) => a.name === 'Agent_2');
    expect(plan.steps.map((s) => `${s.agent.name}:${s.kind}`)).toEqual(['Agent_1:adopt', 'Agent_2:skip']);
  });

  it("reports a second live tab carrying an agent's tag as a duplicate orphan, keeping the recorded one", () => {
    const plan = planRecovery(state, [tab('Agent_1', ID1), tab('Agent_1', ID1, true, { id: '@dup' })]);
    expect(plan.steps[0]).toMatchObject({ kind: 'adopt', tab: { id: '@Agent_1' } });
    expect(plan.orphans).toMatchObject([{ tab: '@dup', why: 'duplicate' }]);
  });
});

describe('hook status per launch', () => {
  it('a late SessionEnd from a killed predecessor does not make the relaunched agent exited', async () => {
    const spool = join(base, 'events.jsonl');
    const lines = [
      { ts: 1, event: 'SessionStart', session_id: ID1, launch: 'old' },
      { ts: 2, event: 'SessionStart', session_id: ID1, launch: 'new' },
      { ts: 3, event: 'SessionEnd', session_id: ID1, launch: 'old' },
    ];
    writeFileSync(spool, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    const watch = new AgentWatch(ID1, spool, base, base);
    await watch.refresh();
    expect(watch.hookStatus()?.status).toBe('exited');
    expect(watch.hookStatus('new')?.status).toBe('idle');
  });
});
