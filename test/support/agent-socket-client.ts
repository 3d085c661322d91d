import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

/** One request to a running tabcrew's agent socket, as an agent's agent-mcp sends it. */
export function agentCall(
  runtimeDir: string,
  req: { agent: string; secret: string; method: string; params?: Record<string, unknown> },
): Promise<{ ok: boolean; result?: any; error?: string }> {
  return new Promise((resolve, reject) => {
    const conn = connect(join(runtimeDir, 'shared', 'tabcrew.sock'));
    let buf = '';
    const timer = setTimeout(() => {
      conn.destroy();
      reject(new Error('agent socket: no answer within 60 s'));
    }, 60_000);
    conn.setEncoding('utf8');
    conn.on('connect', () => conn.write(JSON.stringify({ id: 1, params: {}, ...req }) + '\n'));
    conn.on('data', (d: string) => {
      buf += d;
      if (buf.includes('\n')) {
        clearTimeout(timer);
        conn.end();
        resolve(JSON.parse(buf.slice(0, buf.indexOf('\n'))));
      }
    });
    conn.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** The secret tabcrew handed to an agent's current launch (its runtime folder). */
export function agentSecret(runtimeDir: string, claudeSessionId: string): string {
  return readFileSync(join(runtimeDir, 'agents', claudeSessionId, 'agent-secret'), 'utf8').trim();
}
