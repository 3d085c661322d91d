import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import type { AgentResponse } from '../server/agent-socket/protocol.js';

/** Raised when the supervisor refused or failed a call; the message says why and what to do. */
export class CallError extends Error {
  override name = 'CallError';
}

export interface AgentIdentity {
  agent: string;
  socket: string;
  secretFile: string;
}

const CALL_TIMEOUT_MS = 60_000;
/** spawn_agent returns once the helper's Claude Code is ready, which can take minutes on a loaded machine. */
const SLOW_CALLS: Record<string, number> = { spawn_agent: 300_000 };

/**
 * Calls the running supervisor on its socket, as this agent: a connection per call, so a
 * restarted tabcrew is reached without reconnect logic. The secret is read from its file at
 * every call: a relaunch rotates it and this process may outlive a supervisor restart.
 */
export function socketCaller(id: AgentIdentity): (method: string, params: Record<string, unknown>) => Promise<Record<string, unknown>> {
  let seq = 0;
  return async (method, params) => {
    const secret = (await readFile(id.secretFile, 'utf8').catch(() => '')).trim();
    if (!secret)
      throw new CallError(`tabcrew agent-mcp cannot read this agent's secret (${id.secretFile}); the agent was relaunched or deleted. Nothing was done.`);
    const request = { id: ++seq, agent: id.agent, secret, method, params };
    const line = await new Promise<string>((resolve, reject) => {
      const conn = connect(id.socket);
      let buf = '';
      const timeoutMs = SLOW_CALLS[method] ?? CALL_TIMEOUT_MS;
      const timer = setTimeout(() => {
        conn.destroy();
        reject(new CallError(`tabcrew did not answer ${method} within ${timeoutMs / 1000} s; try again.`));
      }, timeoutMs);
      conn.setEncoding('utf8');
      conn.on('connect', () => conn.write(JSON.stringify(request) + '\n'));
      conn.on('data', (d: string) => {
        buf += d;
        const nl = buf.indexOf('\n');
        if (nl >= 0) {
          clearTimeout(timer);
          conn.end();
          resolve(buf.slice(0, nl));
        }
      });
      conn.on('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(
          new CallError(
            e.code === 'ENOENT' || e.code === 'ECONNREFUSED'
              ? 'tabcrew (the supervisor) is not running right now, so messages and tasks are unavailable; try again later. Nothing was done.'
              : `cannot reach tabcrew at ${id.socket}: ${e.message}`,
          ),
        );
      });
    });
    const response = JSON.parse(line) as AgentResponse;
    if (!response.ok) throw new CallError(response.error);
    return response.result;
  };
}
