import { isIP } from 'node:net';

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

export function isLoopback(address: string): boolean {
  return address === 'localhost' || address === '::1' || address === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(address);
}

/** How an address appears in a Host header: IPv6 in brackets. */
export function hostForm(address: string): string {
  return isIP(address) === 6 ? `[${address}]` : address;
}

/**
 * DNS rebinding: a page on evil.example.com whose name resolves to 127.0.0.1 reaches this
 * server from the person's browser, with its own name in Host and Origin. Only the names this
 * server is really reached by are accepted: the loopback names, and the bind address when
 * --http-bind chose another one; each with this server's port.
 */
export class HostCheck {
  private readonly hosts: Set<string>;
  private readonly origins: Set<string>;

  constructor(bind: string, port: number, extraHosts: readonly string[] = []) {
    const names = new Set([...LOOPBACK_NAMES, ...(isLoopback(bind) || bind === '0.0.0.0' || bind === '::' ? [] : [hostForm(bind)]), ...extraHosts]);
    this.hosts = new Set([...names].map((n) => `${n}:${port}`.toLowerCase()));
    this.origins = new Set([...this.hosts].flatMap((h) => [`http://${h}`, `https://${h}`]));
  }

  /** Null when the request may go on; otherwise what was wrong (for the log, never the client). */
  refuse(hostHeader: string | undefined, origin: string | undefined): string | null {
    const host = (hostHeader ?? '').toLowerCase();
    if (!this.hosts.has(host)) return `Host "${host.slice(0, 100)}" is not this server`;
    if (origin !== undefined && !this.origins.has(origin.toLowerCase())) return `Origin "${origin.slice(0, 100)}" is not this server`;
    return null;
  }
}

/** The bearer token of an Authorization header, if it has one. */
export function bearerOf(authorization: string | undefined): string | undefined {
  const m = authorization && /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  return m ? m[1] : undefined;
}
