import { isIP } from 'node:net';
import { isLoopback } from './guard.js';

export interface ListenAddress {
  bind: string;
  port: number;
  /** Set when the server listens beyond this machine: serve warns about it. */
  exposed: boolean;
}

/**
 * `--http [HOST:]PORT` and `--http-bind ADDRESS`. Without --http-bind the server listens on
 * loopback only: a HOST in --http may name a loopback address, and anything else must be
 * asked for with --http-bind, so exposing the crew to the network is never an accident.
 */
export function parseListenAddress(http: string, httpBind?: string): ListenAddress {
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[^:[\]]+):)?(\d{1,5})$/.exec(http.trim());
  if (!m) throw new Error(`--http "${http}" is not [HOST:]PORT: give a port (--http 8787) or a loopback address and a port (--http 127.0.0.1:8787).`);
  const port = Number(m[2]);
  if (port > 65535) throw new Error(`--http port ${port} is over 65535: pick a port from 1 to 65535 (0 picks a free one).`);
  const host = m[1]?.replace(/^\[|\]$/g, '');
  if (host && !isLoopback(host)) {
    throw new Error(
      `--http names ${host}, which is not a loopback address: to listen there, pass --http-bind ${host} (anyone who can reach it still needs the token).`,
    );
  }
  const bind = httpBind ?? host ?? '127.0.0.1';
  if (httpBind !== undefined && !isIP(httpBind) && httpBind !== 'localhost') {
    throw new Error(`--http-bind "${httpBind}" is not an IP address: give the address of one of this machine's interfaces (or 0.0.0.0 for all).`);
  }
  return { bind, port, exposed: !isLoopback(bind) };
}
