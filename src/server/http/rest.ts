import type { ServerResponse } from 'node:http';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { version } from '../../version.js';
import { sendJson } from './body.js';
import type { InProcessClient } from './in-process.js';

/** A tool result as HTTP: its structuredContent on success, its message with 400 when the tool refused. */
export function sendToolResult(res: ServerResponse, result: CallToolResult): void {
  if (result.isError) {
    const text = messageOf(result);
    return sendJson(res, /not found|no (session|agent)|unknown/i.test(text) ? 404 : 400, { error: text });
  }
  sendJson(res, 200, result.structuredContent ?? {});
}

const messageOf = (r: CallToolResult): string => r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');

type SessionStatus = { session_id: string; name: string; agents: { agent: string }[] };

/**
 * One agent's entry of get_session_status, with the session it belongs to: what a script
 * asking for one agent expects (an instance-details endpoint). Read through the tool, so a
 * front with nodes answers for agents wherever they live.
 */
async function agentStatus(res: ServerResponse, rest: Pick<InProcessClient, 'callTool'>, agent: string): Promise<void> {
  const r = await rest.callTool('get_session_status', {});
  if (r.isError) return sendToolResult(res, r);
  const sessions = ((r.structuredContent ?? {}) as { sessions?: SessionStatus[] }).sessions ?? [];
  for (const s of sessions) {
    const a = s.agents.find((x) => x.agent === agent);
    if (a) return sendJson(res, 200, { ...a, session_id: s.session_id, session: s.name });
  }
  const known = sessions.flatMap((s) => s.agents.map((a) => a.agent));
  sendJson(res, 404, { error: `no agent named "${agent.slice(0, 100)}"; agents: ${known.join(', ') || 'none'}.` });
}

/** ?lines= of the screen route: a whole number, passed to get_agent_output (which checks its range). */
function linesOf(query: URLSearchParams): number | undefined {
  const v = query.get('lines');
  return v !== null && /^[0-9]{1,6}$/.test(v) ? Number(v) : undefined;
}

/**
 * The REST mirror for scripts: each route is a tool, called through the in-process MCP client,
 * so the JSON is the tool's structuredContent and the call is audited as any other.
 */
export async function handleRest(
  path: string,
  res: ServerResponse,
  rest: Pick<InProcessClient, 'callTool'>,
  health: () => Record<string, unknown>,
  query: URLSearchParams = new URLSearchParams(),
): Promise<boolean> {
  if (path === '/api/health') {
    sendJson(res, 200, { status: 'ok', version, ...health() });
    return true;
  }
  if (path === '/api/sessions') {
    sendToolResult(res, await rest.callTool('list_sessions', {}));
    return true;
  }
  let m = /^\/api\/sessions\/([^/]+)$/.exec(path);
  if (m) {
    sendToolResult(res, await rest.callTool('get_session_status', { session: decodeURIComponent(m[1]) }));
    return true;
  }
  m = /^\/api\/agents\/([^/]+)$/.exec(path);
  if (m) {
    await agentStatus(res, rest, decodeURIComponent(m[1]));
    return true;
  }
  // The screen once, as JSON (the page's live stream of it is the same path with Accept: text/event-stream).
  m = /^\/api\/agents\/([^/]+)\/screen$/.exec(path);
  if (m) {
    const lines = linesOf(query);
    sendToolResult(res, await rest.callTool('get_agent_output', { agent: decodeURIComponent(m[1]), ...(lines !== undefined ? { lines } : {}) }));
    return true;
  }
  return false;
}
