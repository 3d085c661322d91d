import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { createAgentServer } from '../../src/agent-mcp/server.js';
import { CLI } from '../support/tabcrew.js';

async function connected(call: (method: string, params: Record<string, unknown>) => Promise<Record<string, unknown>>) {
  const server = createAgentServer({ call });
  const client = new Client({ name: 'test', version: '1' });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(a), client.connect(b)]);
  return client;
}

describe('tabcrew agent-mcp', () => {
  it('offers the agent tools, each with annotations and an output schema', async () => {
    const client = await connected(async () => ({}));
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([
      'add_task',
      'cancel_coordination',
      'check_messages',
      'claim_task',
      'complete_task',
      'coordinate_agents',
      'get_coordination',
      'list_peers',
      'send_message',
      'spawn_agent',
      'update_my_status',
    ]);
    for (const t of tools) {
      expect(t.annotations, t.name).toBeDefined();
      expect(t.outputSchema?.type, t.name).toBe('object');
    }
  });

  it('relays a call to the supervisor and turns its refusal into an error result the model can read', async () => {
    const seen: unknown[] = [];
    const client = await connected(async (method, params) => {
      seen.push([method, params]);
      if (method === 'claim_task') throw new Error('TODO.md item 1 ("x") is already claimed by Agent_2; pick another open item.');
      return { message_id: 'm-abcdef1234', delivered: 'now', recipients: [{ agent: 'Agent_2', delivered: 'now' }] };
    });
    const sent = await client.callTool({ name: 'send_message', arguments: { to: 'Agent_2', message: 'hi' } });
    expect(sent.structuredContent).toMatchObject({ delivered: 'now' });
    const refused = await client.callTool({ name: 'claim_task', arguments: { task: 'x' } });
    expect(refused.isError).toBe(true);
    expect(JSON.stringify(refused.content)).toContain('already claimed by Agent_2');
    // Input the supervisor would refuse anyway is refused here first.
    const bad = await client.callTool({ name: 'send_message', arguments: { to: '--all', message: 'hi' } });
    expect(bad.isError).toBe(true);
    expect(seen).toEqual([
      ['send_message', { to: 'Agent_2', message: 'hi' }],
      ['claim_task', { task: 'x' }],
    ]);
  });

  it('started by hand, outside an agent, it says what is missing', () => {
    const r = spawnSync(process.execPath, [CLI, 'agent-mcp'], { encoding: 'utf8', env: { PATH: process.env.PATH }, input: '' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/runs inside an agent tabcrew launched: TABCREW_AGENT, TABCREW_AGENT_SOCKET and TABCREW_AGENT_SECRET_FILE must be set/);
    expect(r.stdout).toBe('');
  });
});
