import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, TEST_STATE_KEY } from '../support/tabcrew.js';

/** The MCP Inspector's CLI mode, as a person would run it against tabcrew. */
const INSPECTOR = resolve(import.meta.dirname, '../../node_modules/.bin/mcp-inspector');
const base = mkdtempSync(join(tmpdir(), 'tabcrew-inspector-'));
const socket = `tabcrew-inspector-${process.pid}`;
afterAll(() => {
  try {
    execFileSync('tmux', ['-L', socket, 'kill-server'], { stdio: 'ignore' });
  } catch {
    // no agent was started
  }
  rmSync(base, { recursive: true, force: true });
});

async function inspect(...method: string[]): Promise<any> {
  return inspectWith([], 60_000, ...method);
}

/** One Inspector CLI run against a `tabcrew serve` with `serveArgs`, killed after `limitMs` (the Inspector's own request timeout is 60 s). */
async function inspectWith(serveArgs: string[], limitMs: number, ...method: string[]): Promise<any> {
  const { stdout } = await promisify(execFile)(
    INSPECTOR,
    [
      '--cli',
      '-e',
      `TABCREW_STATE_KEY=${TEST_STATE_KEY}`,
      '-e',
      `HOME=${base}`,
      process.execPath,
      CLI,
      'serve',
      '--state-dir',
      join(base, 'state'),
      '--log-dir',
      join(base, 'logs'),
      '--runtime-dir',
      join(base, 'runtime'),
      '--tmux-socket',
      socket,
      ...serveArgs,
      '--method',
      ...method,
    ],
    { timeout: limitMs },
  );
  return JSON.parse(stdout);
}

describe('the MCP Inspector (CLI mode)', () => {
  it('lists every tool with annotations and an output schema', async () => {
    const { tools } = await inspect('tools/list');
    // One file per tool (src/server/tools/<tool-name>.ts): the Inspector must see each of them.
    const files = readdirSync(resolve(import.meta.dirname, '../../src/server/tools')).filter((f) => f.endsWith('.ts') && f !== 'index.ts');
    expect(tools.map((t: { name: string }) => t.name).sort()).toEqual(files.map((f) => f.replace(/\.ts$/, '').replaceAll('-', '_')).sort());
    for (const t of tools) {
      expect(t.annotations, t.name).toEqual(expect.objectContaining({ readOnlyHint: expect.any(Boolean), destructiveHint: expect.any(Boolean) }));
      expect(t.outputSchema?.type, t.name).toBe('object');
    }
  });

  it('calls list_sessions', async () => {
    const result = await inspect('tools/call', '--tool-name', 'list_sessions');
    expect(result.structuredContent).toEqual({ sessions: [] });
    expect(result.isError).toBeFalsy();
  });

  it("gets tabcrew's own answer from create_agent for an agent that does not start, within its fixed 60 s request timeout", async () => {
    // A Claude Code that never becomes ready: create_agent waits its whole --start-timeout (left at its default).
    const silent = join(base, 'silent-claude');
    writeFileSync(silent, '#!/bin/sh\nexec sleep 300\n', { mode: 0o755 });
    mkdirSync(join(base, 'slow'));
    const serve = ['--claude-path', silent];
    await inspectWith(serve, 60_000, 'tools/call', '--tool-name', 'create_session', '--tool-arg', `root=${join(base, 'slow')}`, 'name=slow');
    // Given more than 60 s here, so that it is the Inspector's own timeout that would end the call ("Request timed out").
    const result = await inspectWith(serve, 120_000, 'tools/call', '--tool-name', 'create_agent', '--tool-arg', 'session=slow');
    expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ agent: 'Agent_1', status: 'starting' });
    expect(result.structuredContent.note).toMatch(/not ready after 45 s .*still starting: get_session_status shows it idle once Claude Code is up/);
  });
});
