import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/audit/logger.js';
import { AgentWatch } from '../../src/claude/watch.js';
import type { TabInfo, TerminalBackend, TerminalKey } from '../../src/terminals/backend.js';
import type { Services } from '../../src/supervisor/context.js';
import { deliver } from '../../src/supervisor/delivery.js';

/**
 * A coordination step discards the status a confirmed delivery answers with: in a fan-out of
 * 64, the look after each confirmation (a tab listing, a save of the status, its audit record)
 * came while the agents' hooks ran. Such a delivery answers "busy" without looking.
 */
const base = mkdtempSync(join(tmpdir(), 'tabcrew-delivery-status-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const idle = readFileSync(join(import.meta.dirname, '../fixtures/screens/idle.txt'), 'utf8');
const NBSP = '\u00a0';
const SESSION = '11111111-1111-4111-8111-111111111111';

let n = 0;
async function deliverOnce(statusAfter: false | undefined): Promise<{ status: string; looks: number }> {
  const spool = join(base, `events-${++n}.jsonl`);
  writeFileSync(spool, '');
  const message = 'Say hello please';
  let pasted = false;
  const keys: TerminalKey[] = [];
  const backend = {
    name: 'tmux',
    calls: 0,
    paste: async () => void (pasted = true),
    // The input box shows the text once it is pasted.
    readScreen: async () => (pasted ? idle.replace(`❯${NBSP}`, `❯${NBSP}${message}`) : idle),
    // Claude Code reports the prompt at Enter.
    sendKeys: async (_t: unknown, k: TerminalKey[]) => {
      keys.push(...k);
      appendFileSync(spool, `${JSON.stringify({ event: 'UserPromptSubmit', ts: Date.now(), session_id: SESSION, delivery_id: 'd-status1' })}\n`);
    },
  } as unknown as TerminalBackend;
  const tab: TabInfo = { backend: 'tmux', id: '@1', tag: null, group: 's-1', title: 'Agent_1', alive: true };
  let looks = 0;
  const ctx = {
    backend,
    log: silentLogger,
    observer: { observeOne: async () => (looks++, { status: looks > 1 ? 'busy' : 'idle', source: 'hook', tab }) },
  } as unknown as Services;
  const watch = new AgentWatch(SESSION, spool, base, base);
  const result = await deliver(ctx, {
    agent: 'Agent_1',
    sessionName: 'app',
    watch,
    message,
    prependProtocol: false,
    waitForReply: false,
    timeoutS: 5,
    idleWaitS: 5,
    deliveryId: 'd-status1',
    ...(statusAfter === false ? { statusAfter } : {}),
  });
  expect(result.delivered).toBe('confirmed');
  expect(keys).toEqual(['Enter']);
  return { status: result.status, looks };
}

describe('a confirmed delivery', () => {
  it('looks at the agent after the confirmation for its status', async () => {
    expect(await deliverOnce(undefined)).toEqual({ status: 'busy', looks: 2 });
  });

  it('answers busy without a second look when its caller has no use for the status (a coordination step)', async () => {
    expect(await deliverOnce(false)).toEqual({ status: 'busy', looks: 1 });
  });
});
