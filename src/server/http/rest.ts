import type { ServerResponse } from 'node:http';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { version } from '../../version.js';
import { sendJson } from './body.js';
import type { InProcessClient } from './in-process.js';

/** A tool result as HTTP: its structuredContent on success, its message with 400 when the tool refused. */
export function sendToolResult(res: ServerResponse, result: CallToolResult): void {
  if (result.isError) {
    const text = result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
    return sendJson(res, /not found|no (session|agent)|unknown/i.test(text) ? 404 : 400, { error: text });
  }
  sendJson(res, 200, result.structuredContent ?? {});
}

/**
 * The REST mirror for scripts: each route is a tool, called through the in-process MCP client,
 * so the JSON is the tool's structuredContent and the call is audited as any other.
 */
export async function handleRest(path: string, res: ServerResponse, rest: InProcessClient, health: () => Record<string, unknown>): Promise<boolean> {
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
    sendToolResult(res, await rest.callTool('get_agent_output', { agent: decodeURIComponent(m[1]) }));
    return true;
  }
  return false;
}
