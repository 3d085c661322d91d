import { describe, expect, it } from 'vitest';
import type { Logger } from '../../src/audit/logger.js';
import { AgentSocket } from '../../src/server/agent-socket/listener.js';
import type { Supervisor } from '../../src/supervisor/supervisor.js';

/** AgentSocket.answer over a stand-in supervisor whose every agent is authentic. */
function socket() {
  const errors: unknown[] = [];
  const log = { info: () => undefined, warn: () => undefined, error: (...a: unknown[]) => void errors.push(a) } as unknown as Logger;
  const supervisor = { desk: { authenticate: async (agent: string) => ({ agent, sessionId: 's-a' }) } } as unknown as Supervisor;
  const audit: Record<string, unknown>[] = [];
  const s = new AgentSocket({ path: '/nonexistent/agent.sock', supervisor, log, audit: { append: async (e) => void audit.push(e as never) } });
  return { s, errors, audit };
}

const line = (method: string) => JSON.stringify({ id: 7, agent: 'Agent_1', secret: 'x', method, params: {} });

describe('the agent socket', () => {
  it('names inherited from Object.prototype are unknown methods: a refusal, no TypeError and no stack in the log', async () => {
    for (const method of ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf']) {
      const { s, errors, audit } = socket();
      const r = await s.answer(line(method));
      expect(r, method).toMatchObject({ id: 7, ok: false });
      expect((r as { error: string }).error, method).toMatch(new RegExp(`^unknown method "${method}"; methods: .*claim_task`));
      expect(errors, method).toEqual([]);
      expect(audit[0], method).toMatchObject({ outcome: 'refused' });
    }
  });
});
