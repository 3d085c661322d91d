import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { Logger } from '../audit/logger.js';
import { LOCAL_NODE, NODE_NAME, NodeSpecError, normalizeFingerprint, type HttpNodeOptions, type HttpNodeSpec, type NodeTrust } from './node-spec.js';

export const DEFAULT_REFRESH_MS = 30_000;
const SOURCE = /^dns-srv:(_[A-Za-z0-9-]{1,63}\._(?:tcp|udp)\.(?:[A-Za-z0-9-]{1,63}\.)*[A-Za-z0-9-]{1,63})\.?$/;

/** `--nodes-from dns-srv:NAME` with what every discovered node shares (token file, trust). */
export interface Discovery {
  srv: string;
  /** `--dns-server IP[:port]`: the resolver's server; the system's otherwise. */
  dnsServer?: string;
  refreshMs: number;
  tokenFile: string;
  trust: (name: string) => NodeTrust;
}

/** The part of node:dns/promises' Resolver discovery uses (a test passes its own). */
export interface SrvResolver {
  resolveSrv(name: string): Promise<{ name: string; port: number; priority: number; weight: number }[]>;
  resolve4(name: string): Promise<string[]>;
  resolve6(name: string): Promise<string[]>;
}

/** Validated at start: a bad source, DNS server, or a crew without a shared token and trust stops the front. */
export function parseDiscovery(source: string, o: { dnsServer?: string; refreshMs: number; http: HttpNodeOptions }): Discovery {
  const m = SOURCE.exec(source);
  if (!m) throw new NodeSpecError(`--nodes-from "${source}": write dns-srv:_SERVICE._tcp.DOMAIN, e.g. dns-srv:_tabcrew._tcp.crew.svc.cluster.local`);
  if (o.dnsServer !== undefined) dnsServerAddress(o.dnsServer);
  const tokenFile = o.http.tokenFiles?.['*'];
  if (!tokenFile)
    throw new NodeSpecError(
      `--nodes-from ${source}: every discovered node needs the same bearer token file: give --node-token-file '*'=FILE (e.g. a mounted Secret)`,
    );
  const { fingerprintDir, caFile } = o.http;
  const fingerprints: Record<string, string> = {};
  for (const [name, given] of Object.entries(o.http.fingerprints ?? {})) {
    const f = normalizeFingerprint(given);
    if (!f)
      throw new NodeSpecError(`--node-fingerprint ${name}=${given}: not a SHA-256 fingerprint; copy what tabcrew config http --fingerprint prints on the node`);
    fingerprints[name] = f;
  }
  if (!fingerprintDir && !caFile)
    throw new NodeSpecError(
      `--nodes-from ${source}: discovered nodes are reached over https and need a way to know their certificates: --node-fingerprint-dir D (D/<name>.sha256 per node) or --node-ca FILE`,
    );
  return {
    srv: m[1],
    dnsServer: o.dnsServer,
    refreshMs: o.refreshMs,
    tokenFile,
    trust: (name) => {
      if (fingerprints[name]) return { kind: 'fingerprint', fingerprint: fingerprints[name], from: `--node-fingerprint ${name}=…` };
      if (fingerprintDir) return { kind: 'fingerprint-file', file: join(fingerprintDir, `${name}.sha256`) };
      return { kind: 'ca', caFile: caFile! };
    },
  };
}

/** `IP[:port]` or `[IPv6]:port` → the form Resolver.setServers takes. */
export function dnsServerAddress(value: string): string {
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3})(?::(\d{1,5}))?$/.exec(value);
  const v6 = /^\[([0-9A-Fa-f:.]+)\](?::(\d{1,5}))?$/.exec(value);
  const m = v4 ?? v6;
  const port = m?.[2] === undefined ? undefined : Number(m[2]);
  if (!m || !isIP(m[1]) || (port !== undefined && (port < 1 || port > 65535)))
    throw new NodeSpecError(`--dns-server "${value}": give an IP address and optionally a port, e.g. 10.96.0.10 or 127.0.0.1:5353 or [::1]:53`);
  return value;
}

/** A node's name from its SRV target: the first label (`tabcrew-0.crew.svc.cluster.local.` → `tabcrew-0`), if it is a valid node name. */
export function nodeNameOfTarget(target: string): string | undefined {
  const label = target.split('.')[0];
  return NODE_NAME.test(label) && label !== LOCAL_NODE ? label : undefined;
}

export function systemResolver(dnsServer?: string): SrvResolver {
  const r = new Resolver({ timeout: 3000, tries: 2 });
  if (dnsServer) r.setServers([dnsServerAddress(dnsServer)]);
  return r;
}

// Answers that say the name has no such records (the crew is empty), as opposed to a resolver that could not be asked.
const NO_RECORDS = new Set(['ENOTFOUND', 'ENODATA']);

export interface DiscoveryEvents {
  /** A target is (still) in the records: the front adopts a new node, or updates a changed one. */
  found(spec: HttpNodeSpec): void;
  /** A node's target is gone from the records. */
  gone(name: string, reason: string): void;
}

/**
 * The crew's nodes as the cluster's DNS publishes them (a headless Service's SRV records):
 * one node per target, named by its first label, re-resolved every refresh. A resolver that
 * cannot be reached changes nothing (a DNS outage is not the crew leaving); an answer with no
 * records, or without a target, says those nodes are gone.
 */
export class DnsDiscovery {
  private timer?: NodeJS.Timeout;
  private known = new Set<string>();
  private running?: Promise<void>;

  constructor(
    private readonly d: Discovery,
    private readonly resolver: SrvResolver,
    private readonly events: DiscoveryEvents,
    private readonly log?: Logger,
  ) {}

  /** The nodes found now; resolves once they are handed on (or the lookup failed). */
  refresh(): Promise<void> {
    this.running ??= this.lookup().finally(() => (this.running = undefined));
    return this.running;
  }

  private async lookup(): Promise<void> {
    let records: Awaited<ReturnType<SrvResolver['resolveSrv']>>;
    try {
      records = await this.resolver.resolveSrv(this.d.srv);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? '';
      if (!NO_RECORDS.has(code)) {
        this.log?.warn('node discovery: DNS lookup failed; nodes unchanged', { srv: this.d.srv, error: (e as Error).message });
        return;
      }
      records = [];
    }
    // The best record first (lowest priority, then highest weight), so a name given twice keeps one target, the same every time.
    const sorted = [...records].sort((a, b) => a.priority - b.priority || b.weight - a.weight || a.name.localeCompare(b.name) || a.port - b.port);
    const now = new Set<string>();
    for (const r of sorted) {
      const target = r.name.replace(/\.$/, '');
      const name = nodeNameOfTarget(target);
      if (!name) {
        this.log?.warn('node discovery: target skipped, its first label is not a node name', { srv: this.d.srv, target });
        continue;
      }
      if (now.has(name)) continue;
      now.add(name);
      this.events.found({
        transport: 'http',
        name,
        url: `https://${target}:${r.port}/mcp`,
        host: target,
        port: r.port,
        tls: true,
        tokenFile: this.d.tokenFile,
        trust: this.d.trust(name),
        ...(await this.addressOf(target)),
      });
    }
    for (const name of this.known) {
      if (!now.has(name)) this.events.gone(name, `${name} is no longer among the SRV records of ${this.d.srv} (since ${new Date().toISOString()})`);
    }
    this.known = now;
  }

  /** The target's address from the same resolver (a cluster's names are its DNS's, not the system's). */
  private async addressOf(target: string): Promise<{ address?: string }> {
    for (const family of ['resolve4', 'resolve6'] as const) {
      try {
        const a = await this.resolver[family](target);
        if (a.length) return { address: a[0] };
      } catch {
        // try the next family; without any, the system resolves the name when connecting
      }
    }
    return {};
  }

  start(): void {
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.d.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
