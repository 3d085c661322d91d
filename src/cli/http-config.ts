import type { Config } from '../config.js';
import { readEndpoint } from '../server/http/endpoint.js';
import { hostForm } from '../server/http/guard.js';
import { parseListenAddress } from '../server/http/listen-address.js';
import { loginQuery } from '../server/http/login.js';
import { loadOrCreateToken, tokenPath } from '../server/http/token.js';
import { certFileOf, fingerprintOf } from '../server/http/tls.js';
import { SERVER_NAME, shellQuote } from './config-claude.js';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { printJson } from './table.js';

/** The base URL of `serve --http`: the address given, else the one a running server wrote into the state dir. */
function baseUrl(config: Config, address: string | true | undefined): { url: string; running: boolean } {
  if (typeof address === 'string') {
    const { bind, port } = parseListenAddress(address);
    return { url: `http://${hostForm(bind)}:${port}`, running: false };
  }
  const endpoint = readEndpoint(config.stateDir);
  if (!endpoint) {
    throw new Error(
      `no tabcrew serve --http is running on the state in ${config.stateDir}: start one (tabcrew serve --http 8787), or give its address (--http 8787).`,
    );
  }
  return { url: endpoint.url, running: true };
}

/** `tabcrew config http`: where the HTTP server is and the token it wants. */
export function configHttpCommand(config: Config, opts: { http?: string; json: boolean }): number {
  const token = loadOrCreateToken(config.stateDir);
  const endpoint = opts.http ? baseUrl(config, opts.http) : readEndpoint(config.stateDir) ? baseUrl(config, undefined) : undefined;
  const fingerprint = selfSignedFingerprint(config.stateDir);
  const out = {
    url: endpoint ? `${endpoint.url}/mcp` : null,
    running: endpoint?.running ?? false,
    token,
    token_file: tokenPath(config.stateDir),
    ...(fingerprint ? { fingerprint } : {}),
  };
  if (opts.json) printJson(out);
  else {
    process.stdout.write(
      [
        `MCP endpoint: ${out.url ?? '(not running: tabcrew serve --http 8787)'}`,
        `Token file:   ${out.token_file} (0600; delete it and restart to change the token)`,
        `Token:        ${token}`,
        `Header:       Authorization: Bearer ${token}`,
        ...(fingerprint ? [`TLS SHA-256:  ${fingerprint} (the self-signed certificate of --tls; a front pins it)`] : []),
        ...(endpoint ? [`Try:          curl -H 'Authorization: Bearer ${token}' ${endpoint.url}/api/health`] : []),
        '',
      ].join('\n'),
    );
  }
  return 0;
}

/**
 * The name Claude Code knows the HTTP server by: not the stdio entry's, which `claude mcp add`
 * refuses to overwrite ("already exists"); with its own name both can be registered.
 */
export const HTTP_SERVER_NAME = `${SERVER_NAME}-http`;

/** `tabcrew config claude-code --http`: the line that registers the running HTTP server with Claude Code. */
export function claudeCodeHttpLine(config: Config, opts: { scope: string; http: string | true }): string {
  const { url } = baseUrl(config, opts.http);
  const token = loadOrCreateToken(config.stateDir);
  return ['claude', 'mcp', 'add', '--transport', 'http', '-s', opts.scope, HTTP_SERVER_NAME, `${url}/mcp`, '--header', `Authorization: Bearer ${token}`]
    .map(shellQuote)
    .join(' ');
}

/** What the person is told beside that line (stderr: stdout is the line alone). */
export function claudeCodeHttpNote(scope: string): string {
  return (
    `Registers tabcrew over HTTP as "${HTTP_SERVER_NAME}", beside the stdio entry "${SERVER_NAME}" (claude mcp add refuses a name that exists). ` +
    `To keep only the HTTP one, run claude mcp remove -s ${scope} ${SERVER_NAME} first.\n`
  );
}

/** `tabcrew dashboard`: a one-time login link for the running server's dashboard. */
export function dashboardCommand(config: Config, opts: { http?: string; json: boolean }): number {
  const { url } = baseUrl(config, opts.http);
  const token = loadOrCreateToken(config.stateDir);
  const login = `${url}/login?${loginQuery(token)}`;
  if (opts.json) printJson({ url: login, dashboard: `${url}/`, expires_in_s: 600 });
  else {
    process.stdout.write(login + '\n');
    process.stderr.write(
      'Open this link once in your browser (it works for 10 minutes, then only with a new tabcrew dashboard); the browser stays logged in.\n',
    );
  }
  return 0;
}

/** The fingerprint of the self-signed certificate `serve --tls` made in this state dir, if it made one. */
function selfSignedFingerprint(stateDir: string): string | undefined {
  try {
    return fingerprintOf(readFileSync(certFileOf({ selfSigned: true }, stateDir)));
  } catch {
    return undefined;
  }
}

/** `tabcrew config http --fingerprint`: the SHA-256 of the certificate `serve --http --tls` serves, which a front pins. */
export function fingerprintCommand(config: Config, opts: { certFile?: string; json: boolean }): number {
  const file = opts.certFile ? resolve(opts.certFile) : certFileOf({ selfSigned: true }, config.stateDir);
  let pem: Buffer;
  try {
    pem = readFileSync(file);
  } catch (e) {
    process.stderr.write(
      `tabcrew: no certificate at ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): start tabcrew serve --http PORT --tls once on this state dir (it makes one), or name yours with --cert FILE.\n`,
    );
    return 1;
  }
  const fingerprint = fingerprintOf(pem);
  if (opts.json) printJson({ fingerprint, cert_file: file });
  else process.stdout.write(fingerprint + '\n');
  return 0;
}
