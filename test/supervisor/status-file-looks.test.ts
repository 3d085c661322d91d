import * as fs from 'node:fs';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../src/audit/logger.js';
import { agentDirFor } from '../../src/claude/launch.js';
import { transcriptPath } from '../../src/claude/transcript.js';
import { defaultConfig } from '../../src/config.js';
import { jsonCodec, StateStore } from '../../src/store/state-store.js';
import type { TabInfo } from '../../src/terminals/backend.js';
import { tabTag } from '../../src/supervisor/observer.js';
import { Supervisor } from '../../src/supervisor/supervisor.js';
import { quietTerminal } from '../support/quiet-terminal.js';
import { agentRecord } from '../support/records.js';

/*
 * A session status looks at each agent's hook spool and transcript, and the usage count looks
 * at the transcripts again: at 64 agents those stats were most of a status's CPU. A status
 * stats each file once, shared by everyone who asks in it, and never answers with what an
 * earlier status saw.
 */

// Every stat, by node:fs or node:fs/promises (file handles' fstat aside).
const statted: string[] = [];
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  const stat = ((path: fs.PathLike, ...rest: unknown[]) => {
    statted.push(String(path));
    return (real.stat as (...a: unknown[]) => void)(path, ...rest);
  }) as typeof real.stat;
  const statSync = ((path: fs.PathLike, ...rest: unknown[]) => {
    statted.push(String(path));
    return (real.statSync as (...a: unknown[]) => unknown)(path, ...rest);
  }) as typeof real.statSync;
  return { ...real, stat, statSync, default: { ...real, stat, statSync } };
});
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const stat = ((path: fs.PathLike, ...rest: unknown[]) => {
    statted.push(String(path));
    return (real.stat as (...a: unknown[]) => unknown)(path, ...rest);
  }) as typeof real.stat;
  return { ...real, stat, default: { ...real, stat } };
});

const base = mkdtempSync(join(tmpdir(), 'tabcrew-status-looks-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

const N = 3;
const csid = (i: number): string => `00000000-0000-4000-8000-00000000000${i}`;
const hook = (event: string, i: number): string => `${JSON.stringify({ event, ts: Date.now(), session_id: csid(i) })}\n`;
const reply = (id: string, text: string, output: number): string =>
  `${JSON.stringify({
    type: 'assistant',
    requestId: `r-${id}`,
    message: { id, model: 'claude-sonnet-4-5', content: [{ type: 'text', text }], usage: { input_tokens: 10, output_tokens: output } },
  })}\n`;

async function crew(): Promise<{ sup: Supervisor; spool: (i: number) => string; transcript: (i: number) => string }> {
  const d = mkdtempSync(join(base, 'crew-'));
  const root = join(d, 'app');
  for (const p of ['state', 'runtime', 'claude']) mkdirSync(join(d, p), { recursive: true });
  mkdirSync(root);
  const store = new StateStore(join(d, 'state'), jsonCodec);
  const tab = (i: number) => ({ backend: 'tmux' as const, id: `@${i}`, pane: `%${i}` });
  await store.update((s) => {
    s.sessions.push({ id: 's-1', name: 'app', root, createdAt: '' });
    for (let i = 1; i <= N; i++) s.agents.push(agentRecord({ name: `Agent_${i}`, claudeSessionId: csid(i), tab: tab(i) }));
    s.nextAgentNumber = N + 1;
  });
  const tabs: TabInfo[] = Array.from({ length: N }, (_, k) => ({
    ...tab(k + 1),
    tag: tabTag(`Agent_${k + 1}`, csid(k + 1)),
    group: 'app',
    title: '',
    alive: true,
  }));
  const backend = quietTerminal(tabs);
  const runtimeDir = join(d, 'runtime');
  const claudeDir = join(d, 'claude');
  const spool = (i: number): string => join(agentDirFor(runtimeDir, csid(i)), 'events.jsonl');
  const transcript = (i: number): string => transcriptPath(claudeDir, root, csid(i));
  for (let i = 1; i <= N; i++) {
    mkdirSync(join(spool(i), '..'), { recursive: true });
    writeFileSync(spool(i), hook('SessionStart', i) + hook('UserPromptSubmit', i) + hook('Stop', i));
    mkdirSync(join(transcript(i), '..'), { recursive: true });
    writeFileSync(transcript(i), reply(`m-${i}`, `first ${i}`, 5));
  }
  const config = { ...defaultConfig(), stateDir: join(d, 'state'), runtimeDir, logDir: join(d, 'state'), sandbox: 'off' as const };
  const sup = new Supervisor({ config, store, backend, log: silentLogger, env: { ...process.env, CLAUDE_CONFIG_DIR: claudeDir } });
  return { sup, spool, transcript };
}

describe("a session status's file looks", () => {
  it('stats each agent spool and transcript once per status: the usage count shares the transcript reader’s stat', async () => {
    const { sup, spool, transcript } = await crew();
    await sup.getSessionStatus('app'); // the first status reads everything and counts the usage
    statted.length = 0;
    const status = await sup.getSessionStatus('app');
    expect(status.agents.map((a) => a.status)).toEqual(['idle', 'idle', 'idle']);
    for (let i = 1; i <= N; i++) {
      expect(statted.filter((p) => p === spool(i))).toHaveLength(1);
      expect(statted.filter((p) => p === transcript(i))).toHaveLength(1);
    }
  });

  it('a transcript and a spool written between two statuses are read again by the next one', async () => {
    const { sup, spool, transcript } = await crew();
    const before = await sup.getSessionStatus('app');
    expect(before.agents[1]).toMatchObject({ status: 'idle', last_reply: 'first 2', tokens: { output: 5 } });
    appendFileSync(transcript(2), reply('m-2b', 'second 2', 7));
    appendFileSync(spool(2), hook('UserPromptSubmit', 2));
    const after = await sup.getSessionStatus('app');
    expect(after.agents[1]).toMatchObject({ status: 'busy', last_reply: 'second 2', tokens: { output: 12 } });
    expect(after.agents[1]!.usage.output).toBe(12);
    expect(after.agents[0]).toMatchObject({ status: 'idle', last_reply: 'first 1', tokens: { output: 5 } });
  });
});
