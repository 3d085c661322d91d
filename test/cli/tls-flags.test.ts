import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadTls } from '../../src/server/http/tls.js';
import { runCli, testEnv } from './run-cli.js';

const home = mkdtempSync(join(tmpdir(), 'tabcrew-tls-flags-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));
const env = testEnv(home);
const state = ['--state-dir', join(home, 'state'), '--log-dir', join(home, 'logs'), '--runtime-dir', join(home, 'run')];

describe('TLS flags of serve and config http', () => {
  it('--tls without --http stops serve, saying to add --http', async () => {
    const r = await runCli(['serve', '--no-stdio', '--tls', ...state], env);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--no-stdio needs --http|add --http/);
    const t = await runCli(['serve', '--tls', ...state], env);
    expect(t.code).not.toBe(0);
    expect(t.stderr).toContain('--tls, --tls-cert/--tls-key and --http-host are about the HTTP server: add --http [HOST:]PORT');
  });

  it('--tls-cert without --tls-key is refused, naming both', async () => {
    const r = await runCli(['serve', '--http', '0', '--tls-cert', '/nonexistent.pem', ...state], env);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('--tls-cert and --tls-key go together');
  });

  it('config http --fingerprint without a certificate says how to make one', async () => {
    const r = await runCli(['config', 'http', '--fingerprint', '--state-dir', join(home, 'state')], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no certificate at .*http-tls-cert\.pem.*tabcrew serve --http PORT --tls/);
  });

  it('config http --fingerprint prints the SHA-256 of the self-signed certificate, and config http shows it too', async () => {
    const stateDir = join(home, 'fp-state');
    const { fingerprint } = loadTls({ selfSigned: true }, stateDir);
    const r = await runCli(['config', 'http', '--fingerprint', '--state-dir', stateDir], env);
    expect(r).toMatchObject({ code: 0, stdout: `${fingerprint}\n` });
    const all = await runCli(['config', 'http', '--json', '--state-dir', stateDir], env);
    expect(JSON.parse(all.stdout)).toMatchObject({ fingerprint });
  });

  it('--http-host refuses a value that is not a host name', async () => {
    const r = await runCli(['serve', '--http', '0', '--http-host', 'evil.com:80', ...state], env);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('is not a host name');
  });
});
