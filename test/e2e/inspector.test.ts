import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, TEST_STATE_KEY } from '../support/tabcrew.js';

/** The MCP Inspector's CLI mode, as a person would run it against tabcrew. */
const INSPECTOR = resolve(import.meta.dirname, '../../node_modules/.bin/mcp-inspector');
const base = mkdtempSync(join(tmpdir(), 'tabcrew-inspector-'));
const socket = `tabcrew-inspector-${process.pid}`;
afterAll(() => rmSync(base, { recursive: true, force: true }));

async function inspect(...method: string[]): Promise<any> {
  const { stdout } = await promisify(execFile)(
    INSPECTOR,
    [
      '--cli',
      '-e',
      `TABCREW_STATE_KEY=${TEST_STATE_KEY}`,
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
      '--method',
      ...method,
    ],
    { timeout: 60_000 },
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
});
