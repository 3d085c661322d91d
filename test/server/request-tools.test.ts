import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import type { Logger } from '../../src/audit/logger.js';
import type { ToolDeps } from '../../src/server/tool-kit.js';
import { registerTools } from '../../src/server/tools/index.js';

/**
 * The request tools as a client that checks output schemas sees them (the dashboard's
 * in-process client does): a listed request carries its kind, and every tool's answer fits
 * its declared schema.
 */
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined } as unknown as Logger;
const since = '2026-12-06T07:00:00.000Z';
const base = { agent: 'Agent_1', session_id: 's-a', since };
const permission = { ...base, request_id: 'p-00000000000000a1', kind: 'permission', tool: 'Bash', input_summary: 'touch x' };
const question = {
  ...base,
  request_id: 'p-00000000000000a2',
  kind: 'question',
  tool: 'AskUserQuestion',
  input_summary: 'Which color?',
  questions: [{ question: 'Which color?', header: 'Color', options: [{ label: 'Red', description: 'warm' }, { label: 'Blue' }], multi_select: false }],
};
const plan = { ...base, request_id: 'p-00000000000000a3', kind: 'plan', tool: 'ExitPlanMode', input_summary: '# Plan', plan: '# Plan\n1. a' };
const all = [permission, question, plan];

async function connect() {
  const decided: Record<string, unknown>[] = [];
  const supervisor = {
    securityLevel: 'MEDIUM',
    listPendingPermissions: async () => [permission],
    listPendingRequests: async (_s?: string, kind?: string) => all.filter((r) => !kind || r.kind === kind),
    pendingPermission: async (id: string) => all.find((r) => r.request_id === id)!,
    decidePermission: async (input: Record<string, unknown>) => {
      decided.push(input);
      const r = all.find((p) => p.request_id === input.request_id)!;
      return { request_id: r.request_id, agent: r.agent, tool: r.tool, kind: r.kind, decision: input.decision, taken: true };
    },
  };
  const server = new McpServer({ name: 'tabcrew', version: '0.1.0' });
  registerTools(server, { supervisor, log: quiet, clientName: () => 'the client' } as unknown as ToolDeps);
  const [a, b] = InMemoryTransport.createLinkedPair();
  await server.connect(a);
  const client = new Client({ name: 't', version: '1' });
  await client.connect(b);
  // Listing the tools makes the client check every answer against its output schema.
  await client.listTools();
  const call = async (name: string, args: Record<string, unknown>) => (await client.callTool({ name, arguments: args })) as CallToolResult;
  return { call, decided };
}

describe('the request tools', () => {
  it('list every kind in the one shape, permissions alone in list_pending_permissions, each fitting its schema', async () => {
    const { call } = await connect();
    expect((await call('list_pending_requests', {})).structuredContent).toEqual({ requests: all });
    expect((await call('list_pending_requests', { kind: 'plan' })).structuredContent).toEqual({ requests: [plan] });
    expect((await call('list_pending_permissions', {})).structuredContent).toEqual({ requests: [permission] });
  });

  it('answer a question by option, reject a plan with feedback, decide a permission: the supervisor gets the decision to write', async () => {
    const { call, decided } = await connect();
    expect((await call('answer_request', { request_id: question.request_id, choose: 2 })).structuredContent).toEqual({
      request_id: question.request_id,
      agent: 'Agent_1',
      kind: 'question',
      tool: 'AskUserQuestion',
      outcome: 'answered',
      answers: ['Blue'],
      taken: true,
    });
    expect((await call('answer_request', { request_id: plan.request_id, decision: 'reject', message: 'smaller steps' })).structuredContent).toMatchObject({
      outcome: 'rejected',
    });
    expect((await call('decide_permission', { request_id: permission.request_id, decision: 'allow' })).structuredContent).toMatchObject({
      kind: 'permission',
      decision: 'allow',
    });
    expect(decided).toEqual([
      { request_id: question.request_id, decision: 'allow', answers: [{ options: [1] }], by: 'the client' },
      { request_id: plan.request_id, decision: 'deny', reason: 'smaller steps', by: 'the client' },
      { request_id: permission.request_id, decision: 'allow', by: 'the client' },
    ]);
    const wrong = await call('answer_request', { request_id: plan.request_id, choose: 'Red' });
    expect(wrong.isError).toBe(true);
    expect(JSON.stringify(wrong.content)).toMatch(/is a plan to approve/);
  });
});
