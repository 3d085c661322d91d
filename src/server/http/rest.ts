import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { Hono, type Context } from 'hono';
import { version } from '../../version.js';
import type { InProcessClient } from './in-process.js';

/** A tool result as HTTP: its structuredContent on success, its message with 400 when the tool refused. */
export function toolResponse(c: Context, result: CallToolResult): Response {
  if (result.isError) {
    const text = messageOf(result);
    return c.json({ error: text }, /not found|no (session|agent)|unknown/i.test(text) ? 404 : 400);
  }
  return c.json(result.structuredContent ?? {});
}

const messageOf = (r: CallToolResult): string => r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');

type SessionStatus = { session_id: string; name: string; agents: { agent: string }[] };
type Rest = Pick<InProcessClient, 'callTool'>;

/**
 * One agent's entry of get_session_status, with the session it belongs to: what a script
 * asking for one agent expects (an instance-details endpoint). Read through the tool, so a
 * front with nodes answers for agents wherever they live.
 */
async function agentStatus(c: Context, rest: Rest, agent: string): Promise<Response> {
  const r = await rest.callTool('get_session_status', {});
  if (r.isError) return toolResponse(c, r);
  const sessions = ((r.structuredContent ?? {}) as { sessions?: SessionStatus[] }).sessions ?? [];
  for (const s of sessions) {
    const a = s.agents.find((x) => x.agent === agent);
    if (a) return c.json({ ...a, session_id: s.session_id, session: s.name });
  }
  const known = sessions.flatMap((s) => s.agents.map((a) => a.agent));
  return c.json({ error: `no agent named "${agent.slice(0, 100)}"; agents: ${known.join(', ') || 'none'}.` }, 404);
}

/** ?lines= of the screen route: a whole number, passed to get_agent_output (which checks its range). */
function linesOf(v: string | undefined): number | undefined {
  return v !== undefined && /^[0-9]{1,6}$/.test(v) ? Number(v) : undefined;
}

/**
 * The REST mirror for scripts (GET, mounted under /api after the checks): each route is a
 * tool, called through the in-process MCP client, so the JSON is the tool's
 * structuredContent and the call is audited as any other. A node's agent comes with its
 * `/` encoded (`node1%2FAgent_2`): a path parameter never spans a `/`, and is decoded once.
 */
export function restRoutes(rest: Rest, health: () => Record<string, unknown>): Hono {
  return new Hono()
    .get('/health', (c) => c.json({ status: 'ok', version, ...health() }))
    .get('/sessions', async (c) => toolResponse(c, await rest.callTool('list_sessions', {})))
    .get('/sessions/:id', async (c) => toolResponse(c, await rest.callTool('get_session_status', { session: c.req.param('id') })))
    .get('/agents/:name', (c) => agentStatus(c, rest, c.req.param('name')))
    .get('/agents/:name/screen', async (c) => {
      // The screen once, as JSON (the page's live stream of it is the same path with Accept: text/event-stream).
      const lines = linesOf(c.req.query('lines'));
      return toolResponse(c, await rest.callTool('get_agent_output', { agent: c.req.param('name'), ...(lines !== undefined ? { lines } : {}) }));
    });
}
