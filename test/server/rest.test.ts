import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { restRoutes } from '../../src/server/http/rest.js';

/** The REST mirror over a fake in-process client: which tool each route calls, and what it answers. */
const STATUS = {
  sessions: [
    { session_id: 's-a', name: 'web', root: '/w', agents: [{ agent: 'Agent_1', status: 'idle', status_source: 'hook', tasks: { open: 1, done: 0 } }] },
    { session_id: 's-b', name: 'api', root: '/a', agents: [{ agent: 'node1/Agent_2', status: 'busy', status_source: 'screen', tasks: { open: 0, done: 0 } }] },
  ],
};

function client() {
  const calls: [string, Record<string, unknown>][] = [];
  return {
    calls,
    callTool: async (name: string, args: Record<string, unknown>): Promise<CallToolResult> => {
      calls.push([name, args]);
      if (name === 'get_session_status') return { content: [], structuredContent: STATUS };
      if (name === 'get_agent_output')
        return args.agent === 'Agent_1'
          ? { content: [], structuredContent: { agent: 'Agent_1', screen: '> hello' } }
          : { content: [{ type: 'text', text: `no agent named ${String(args.agent)}` }], isError: true };
      return { content: [], structuredContent: {} };
    },
  };
}

const ask = async (path: string, query = '') => {
  const c = client();
  const res = await restRoutes(c, () => ({})).request(`${path.replace(/^\/api/, '')}${query ? `?${query}` : ''}`);
  return { status: res.status, body: res.status === 404 && !res.headers.get('content-type')?.includes('json') ? undefined : await res.json(), calls: c.calls };
};

describe('the REST mirror', () => {
  it('GET /api/agents/:name answers with what get_session_status says of that agent, and its session', async () => {
    const r = await ask('/api/agents/Agent_1');
    expect(r.calls).toEqual([['get_session_status', {}]]);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ agent: 'Agent_1', status: 'idle', status_source: 'hook', tasks: { open: 1, done: 0 }, session_id: 's-a', session: 'web' });
    // A node's agent, its "/" encoded in the path.
    expect((await ask(`/api/agents/${encodeURIComponent('node1/Agent_2')}`)).body).toMatchObject({ agent: 'node1/Agent_2', status: 'busy', session: 'api' });
  });

  it('GET /api/agents/:name of an unknown agent is a 404 that names the agents there are', async () => {
    const r = await ask('/api/agents/Agent_9');
    expect(r.status).toBe(404);
    expect(r.body.error).toBe('no agent named "Agent_9"; agents: Agent_1, node1/Agent_2.');
  });

  it('GET /api/agents/:name/screen answers with the screen once (get_agent_output), ?lines= passed on', async () => {
    const r = await ask('/api/agents/Agent_1/screen', 'lines=30');
    expect(r.calls).toEqual([['get_agent_output', { agent: 'Agent_1', lines: 30 }]]);
    expect(r.body).toEqual({ agent: 'Agent_1', screen: '> hello' });
    expect((await ask('/api/agents/Agent_1/screen', 'lines=abc')).calls).toEqual([['get_agent_output', { agent: 'Agent_1' }]]);
    expect((await ask('/api/agents/Agent_9/screen')).status).toBe(404);
  });

  it('leaves other paths to the server: no route of its own answers them', async () => {
    const r = await ask('/api/agents/Agent_1/transcript');
    expect(r.status).toBe(404);
    expect(r.calls).toEqual([]);
  });
});
