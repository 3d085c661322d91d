import { readFile } from 'node:fs/promises';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { LinkSetupError, type LinkTransport, type LinkTrouble } from './link-transport.js';
import { FingerprintMismatchError, nodeFetch, type FetchTrust } from './node-fetch.js';
import { normalizeFingerprint, type HttpNodeSpec } from './node-spec.js';

/** How often an HTTP link asks its node whether it is still there (an ssh link notices a drop by itself). */
export const HTTP_HEARTBEAT_MS = 5000;
// A token is one line of printable characters; anything else is a wrong file, not a token.
const TOKEN = /^[\x21-\x7e]{16,512}$/;

const causes = (e: unknown): unknown[] => {
  const out: unknown[] = [];
  for (let c = e, i = 0; c && i < 5; c = (c as { cause?: unknown }).cause, i++) out.push(c);
  return out;
};

/**
 * The front as a Streamable HTTP MCP client of a node's `tabcrew serve --http`: the node's
 * bearer token from its token file (read at each connection, so a rotated Secret is
 * picked up; never logged, never in a URL), and for https the node's certificate pinned by
 * SHA-256 or verified against a CA (crew/node-fetch.ts).
 */
export class HttpTransport implements LinkTransport {
  readonly heartbeatMs = HTTP_HEARTBEAT_MS;
  private closeFetch?: () => void;

  constructor(private readonly spec: HttpNodeSpec) {}

  url(): string {
    return this.spec.url;
  }

  async open(): Promise<Transport> {
    const token = await this.token();
    const trust = await this.trust();
    this.closeFetch?.();
    const { fetch, close } = nodeFetch(trust, this.spec.address);
    this.closeFetch = close;
    return new StreamableHTTPClientTransport(new URL(this.spec.url), {
      fetch,
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
      // The link reconnects with its own backoff; the SDK's stream retries only add noise.
      reconnectionOptions: { initialReconnectionDelay: 1000, maxReconnectionDelay: 5000, reconnectionDelayGrowFactor: 2, maxRetries: 2 },
    });
  }

  connected(): void {}

  async release(transport: Transport): Promise<void> {
    // The node keeps a session per client (and refuses past 64): end ours, briefly.
    const t = transport as StreamableHTTPClientTransport;
    if (t.sessionId) await Promise.race([t.terminateSession().catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref())]);
    this.closeFetch?.();
    this.closeFetch = undefined;
  }

  private async token(): Promise<string> {
    const file = this.spec.tokenFile;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      throw new LinkSetupError(
        `the token file ${file} of node ${this.spec.name} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
        `put node ${this.spec.name}'s bearer token into ${file} (0600): tabcrew config http on the node prints it`,
      );
    }
    const token = text.trim();
    if (!TOKEN.test(token))
      throw new LinkSetupError(
        `${file} does not hold a token (one line, no spaces)`,
        `put node ${this.spec.name}'s bearer token into ${file}: tabcrew config http on the node prints it`,
      );
    return token;
  }

  private async trust(): Promise<FetchTrust> {
    const t = this.spec.trust;
    if (t.kind === 'none' || t.kind === 'fingerprint') return t;
    if (t.kind === 'ca') {
      try {
        return { kind: 'ca', ca: await readFile(t.caFile), caFile: t.caFile };
      } catch (e) {
        throw new LinkSetupError(
          `the CA file ${t.caFile} cannot be read (${(e as Error).message})`,
          `give --node-ca the PEM file of the CA that signed the nodes' certificates`,
        );
      }
    }
    let text: string;
    try {
      text = await readFile(t.file, 'utf8');
    } catch (e) {
      throw new LinkSetupError(
        `no pinned fingerprint for node ${this.spec.name}: ${t.file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
        `run tabcrew config http --fingerprint on node ${this.spec.name} and write what it prints into ${t.file}`,
      );
    }
    const fingerprint = normalizeFingerprint(text);
    if (!fingerprint)
      throw new LinkSetupError(
        `${t.file} does not hold a SHA-256 fingerprint`,
        `write what tabcrew config http --fingerprint prints on node ${this.spec.name} into ${t.file}`,
      );
    return { kind: 'fingerprint', fingerprint, from: t.file };
  }

  trouble(cause: unknown, fallback: string): LinkTrouble {
    const name = this.spec.name;
    for (const c of causes(cause)) {
      if (c instanceof LinkSetupError) return { error: c.message, fix: c.fix };
      if (c instanceof FingerprintMismatchError) {
        const where = this.spec.trust.kind === 'fingerprint-file' ? this.spec.trust.file : c.from;
        return {
          error: `node ${name} at ${this.spec.url}: ${c.message}; nothing was sent to it`,
          fix: `if node ${name}'s certificate changed on purpose (a new --tls-cert, or its state dir was re-made), run tabcrew config http --fingerprint on it and put the new value in ${where}; otherwise something else answers at ${this.spec.host}:${this.spec.port}: find out what before trusting it`,
        };
      }
      if (c instanceof StreamableHTTPError && c.code === 401)
        return {
          error: `node ${name} refused the bearer token from ${this.spec.tokenFile} (401)`,
          fix: `put node ${name}'s current token into ${this.spec.tokenFile}: tabcrew config http on the node prints it (its state dir's http-token)`,
        };
      if (c instanceof StreamableHTTPError && c.code === 403)
        return {
          error: `node ${name} refused the request (403): it does not accept "${this.spec.host}:${this.spec.port}" as its own name in Host`,
          fix: `start the node's tabcrew serve --http with --http-host ${this.spec.host} (or --http-bind on that address)`,
        };
      const code = (c as NodeJS.ErrnoException).code;
      if (code && /^(ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|ECONNRESET|ENOTFOUND|EAI_AGAIN|EPIPE)$/.test(code))
        return {
          error: `node ${name} at ${this.spec.url} is not reachable (${code})`,
          fix: `check that node ${name} runs tabcrew serve --http ${this.spec.port}${this.spec.tls ? ' --tls' : ''} and that this machine reaches ${this.spec.host}:${this.spec.port}; tabcrew keeps retrying`,
        };
      if (code && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code))
        return {
          error: `node ${name}'s certificate does not verify${this.spec.trust.kind === 'ca' ? ` against ${this.spec.trust.caFile}` : ''}: ${(c as Error).message}`,
          fix: `give the node a certificate for ${this.spec.host} signed by that CA (serve --tls-cert/--tls-key), or pin its fingerprint instead (--node-fingerprint-dir)`,
        };
    }
    const message = cause instanceof Error ? cause.message : fallback;
    return { error: message || fallback, fix: `check node ${name} (tabcrew nodes); tabcrew keeps retrying` };
  }
}
