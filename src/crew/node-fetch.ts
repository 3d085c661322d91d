import { Agent as HttpAgent, request as httpRequest, type ClientRequestArgs, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest, type AgentOptions } from 'node:https';
import type { LookupFunction } from 'node:net';
import { Readable, type Duplex } from 'node:stream';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';

/** The fetch the MCP SDK's Streamable HTTP client calls (a subset of the WHATWG one). */
export type NodeFetch = (url: string | URL, init?: RequestInit) => Promise<Response>;

/** How this fetch knows the server is the node: a pinned SHA-256, a CA, or nothing (plain http). */
export type FetchTrust = { kind: 'fingerprint'; fingerprint: string; from: string } | { kind: 'ca'; ca: Buffer; caFile: string } | { kind: 'none' };

/** The node's certificate is not the pinned one: the connection ends before anything (the token) is sent. */
export class FingerprintMismatchError extends Error {
  override name = 'FingerprintMismatchError';
  constructor(
    readonly expected: string,
    readonly seen: string,
    readonly from: string,
  ) {
    super(`the certificate of the node has SHA-256 fingerprint ${seen}, but ${expected} is pinned (${from})`);
  }
}

/**
 * An https Agent that pins the server certificate's SHA-256: chain verification is off (a
 * node's certificate is usually self-signed), and in its place each new connection's
 * certificate is compared with the pinned fingerprint once the handshake is done, before
 * the socket is handed to the request, so a request (and its bearer token) is never written
 * to a server that is not the node. No TLS session cache: every connection shows its
 * certificate.
 */
class PinningAgent extends HttpsAgent {
  constructor(
    private readonly pin: { fingerprint: string; from: string },
    opts: AgentOptions,
  ) {
    super({ ...opts, maxCachedSessions: 0 });
  }

  override createConnection(options: ClientRequestArgs, callback?: (err: Error | null, stream: Duplex) => void): undefined {
    let done = false;
    const finish = (err: Error | null, socket?: TLSSocket): void => {
      if (done) return;
      done = true;
      callback?.(err, socket as Duplex);
    };
    const socket = tlsConnect({ ...(options as ConnectionOptions), rejectUnauthorized: false });
    socket.once('secureConnect', () => {
      const seen = socket.getPeerCertificate().fingerprint256 ?? 'none';
      if (seen.toUpperCase() !== this.pin.fingerprint) {
        socket.destroy();
        return finish(new FingerprintMismatchError(this.pin.fingerprint, seen, this.pin.from));
      }
      finish(null, socket);
    });
    socket.once('error', (e) => finish(e));
    return undefined;
  }
}

// Statuses whose response has no body (the Response constructor refuses one).
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

function toResponse(res: IncomingMessage, method: string): Response {
  const headers = new Headers();
  for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) headers.append(res.rawHeaders[i], res.rawHeaders[i + 1]);
  const status = res.statusCode ?? 502;
  const body = NULL_BODY.has(status) || method === 'HEAD' ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>);
  if (!body) res.resume();
  return new Response(body, { status, statusText: res.statusMessage ?? '', headers });
}

/**
 * A fetch over Node's own http/https with the node's trust: the global fetch cannot pin a
 * certificate or take a CA per node. `address`, when given (DNS discovery), is where the
 * host name connects; the name itself stays the Host header and the TLS server name.
 */
export function nodeFetch(trust: FetchTrust, address?: string): { fetch: NodeFetch; close(): void } {
  const base: AgentOptions = { keepAlive: true, maxSockets: 16 };
  const agent =
    trust.kind === 'fingerprint'
      ? new PinningAgent(trust, base)
      : trust.kind === 'ca'
        ? new HttpsAgent({ ...base, ca: trust.ca, maxCachedSessions: 0 })
        : new HttpAgent(base);
  const lookup: LookupFunction | undefined = address
    ? (_host, opts, cb) => {
        const family = address.includes(':') ? 6 : 4;
        if ((opts as { all?: boolean }).all) (cb as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address, family }]);
        else cb(null, address, family);
      }
    : undefined;
  const fetch: NodeFetch = (input, init) =>
    new Promise<Response>((resolvePromise, reject) => {
      const url = new URL(String(input));
      const method = (init?.method ?? 'GET').toUpperCase();
      const headers: Record<string, string> = {};
      new Headers(init?.headers).forEach((v, k) => (headers[k] = v));
      const signal = init?.signal ?? undefined;
      if (signal?.aborted) return reject(signal.reason ?? new DOMException('aborted', 'AbortError'));
      const https = url.protocol === 'https:';
      if (https === (trust.kind === 'none'))
        return reject(new Error(`${url.protocol} URL with ${trust.kind === 'none' ? 'no TLS trust' : 'TLS trust'}: refusing to mix them`));
      const req = (https ? httpsRequest : httpRequest)(
        {
          protocol: url.protocol,
          hostname: url.hostname.replace(/^\[|\]$/g, ''),
          port: Number(url.port || (https ? 443 : 80)),
          path: `${url.pathname}${url.search}`,
          method,
          headers,
          agent,
          ...(lookup ? { lookup } : {}),
        },
        (res) => {
          res.once('close', () => signal?.removeEventListener('abort', onAbort));
          resolvePromise(toResponse(res, method));
        },
      );
      const onAbort = (): void => {
        req.destroy(signal?.reason instanceof Error ? signal.reason : new DOMException('aborted', 'AbortError'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      req.once('error', (e) => {
        signal?.removeEventListener('abort', onAbort);
        reject(e);
      });
      const body = init?.body;
      if (body === undefined || body === null) req.end();
      else if (typeof body === 'string' || body instanceof Uint8Array) req.end(body);
      else reject(new Error('nodeFetch sends string or byte bodies only'));
    });
  return { fetch, close: () => agent.destroy() };
}
