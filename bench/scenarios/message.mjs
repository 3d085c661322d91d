/**
 * message_send_to_typed_p50_ms: an agent's `send_message` (the request its agent-mcp sends to
 * the supervisor's socket, as Agent_20 with its secret) to an idle peer, until the peer's
 * UserPromptSubmit hook reports the typed message (its hook spool, read every 5 ms).
 * 12 messages, each to a different idle fleet agent, through the real `tabcrew serve`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { agentSocketPath } from '../../dist/claude/agent-mcp-config.js';
import { fleetServer } from '../server.mjs';
import { median, quantile, round, sleep } from '../support.mjs';

const SENDS = 12;
const SENDER = 'Agent_20';

function call(runtimeDir, request) {
  return new Promise((resolve, reject) => {
    const conn = connect(agentSocketPath(runtimeDir));
    let buf = '';
    conn.setEncoding('utf8');
    conn.on('connect', () => conn.write(JSON.stringify({ id: 1, ...request }) + '\n'));
    conn.on('data', (d) => {
      buf += d;
      if (buf.includes('\n')) {
        conn.end();
        resolve(JSON.parse(buf.slice(0, buf.indexOf('\n'))));
      }
    });
    conn.on('error', reject);
  });
}

const submits = (file) => {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.includes('"UserPromptSubmit"')).length;
  } catch {
    return 0;
  }
};

export default {
  name: 'message',
  standIn: true,
  async run(ctx, report) {
    const { f } = await fleetServer(ctx, 64);
    const state = await f.stack.store.read();
    const idOf = (name) => state.agents.find((a) => a.name === name).claudeSessionId;
    const runtime = f.dirs.runtime;
    // The server answers the MCP handshake before its agent socket listens (the entry answers it early).
    for (let i = 0; i < 200 && !existsSync(agentSocketPath(runtime)); i++) await sleep(50);
    const secret = readFileSync(join(runtime, 'agents', idOf(SENDER), 'agent-secret'), 'utf8').trim();
    const times = [];
    for (let i = 0; i < SENDS; i++) {
      const to = `Agent_${21 + i}`;
      const spool = join(runtime, 'agents', idOf(to), 'events.jsonl');
      const before = submits(spool);
      const t0 = performance.now();
      const r = await call(runtime, {
        agent: SENDER,
        secret,
        method: 'send_message',
        params: { to, message: `Benchmark message ${i}: please summarise the README.` },
      });
      if (!r.ok) throw new Error(`send_message to ${to}: ${r.error}`);
      const deadline = t0 + 15_000;
      while (submits(spool) === before) {
        if (performance.now() > deadline) throw new Error(`${to}: the message was not typed within 15 s (${r.result.delivered})`);
        await sleep(5);
      }
      times.push(performance.now() - t0);
    }
    report('message_send_to_typed_p50_ms', round(median(times)), 'ms', { detail: `p90 ${round(quantile(times, 0.9))}, ${SENDS} sends` });
  },
};
