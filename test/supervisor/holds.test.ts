import { describe, expect, it } from 'vitest';
import type { AgentRecord } from '../../src/store/types.js';
import { withHold } from '../../src/supervisor/observer.js';
import { agentRecord } from '../support/records.js';

const at = '2026-12-01T10:00:00.000Z';
const agent = (extra: Partial<AgentRecord>): AgentRecord => agentRecord({ since: at, createdAt: at, ...extra });
const hold = { reason: 'budget' as const, limit: 'max_cost_usd' as const, value: 1, used: 1.5, at };

describe('what the observer reports for agents held on purpose', () => {
  it('an idle agent with a hold is paused; a busy one (a person typing in its tab) stays busy; a dead one stays dead', () => {
    expect(withHold(agent({ hold }), { status: 'idle', source: 'hook' })).toMatchObject({ status: 'paused', source: 'supervisor', since: Date.parse(at) });
    expect(withHold(agent({ hold }), { status: 'busy', source: 'hook' }).status).toBe('busy');
    expect(withHold(agent({ hold }), { status: 'exited', source: 'terminal' }).status).toBe('exited');
  });

  it('a hibernated agent without its tab is hibernated, not detached; once its tab runs again it is what the hooks say', () => {
    expect(withHold(agent({ hibernated: { at } }), { status: 'detached', source: 'terminal' }).status).toBe('hibernated');
    expect(withHold(agent({ hibernated: { at } }), { status: 'starting', source: 'hook' }).status).toBe('starting');
  });

  it('an agent whose relaunches were given up is exited even when its tab is gone', () => {
    const relaunch = { attempts: 3, lastAttemptAt: at, gaveUp: true };
    expect(withHold(agent({ relaunch }), { status: 'detached', source: 'terminal' })).toMatchObject({ status: 'exited', source: 'supervisor' });
    expect(withHold(agent({}), { status: 'idle', source: 'hook' }).status).toBe('idle');
  });
});
