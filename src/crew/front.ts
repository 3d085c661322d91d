import type { Logger } from '../audit/logger.js';
import type { StateStore } from '../store/state-store.js';
import { version } from '../version.js';
import { localPlaces } from './local-places.js';
import { DnsDiscovery, systemResolver, type Discovery, type SrvResolver } from './dns-discovery.js';
import { NodeLink } from './node-link.js';
import type { HttpNodeSpec, NodeSpec } from './node-spec.js';
import { CrewRouter } from './router.js';
import { controlDir } from './ssh-argv.js';

/** What `serve` is told about the crew: --node, --nodes-file, --node-command, --ssh-config, --node-read-timeout, --nodes-from. */
export interface CrewOptions {
  nodes: NodeSpec[];
  /** --nodes-from dns-srv:…: more nodes, found (and lost) by DNS. */
  discovery?: Discovery;
  sshConfig?: string;
  /** Each node's deadline in a crew-wide read (--node-read-timeout); crew/call-limits.ts has the default. */
  readTimeoutMs?: number;
}

export interface Front {
  router: CrewRouter;
  links: Map<string, NodeLink>;
  /** Connects every node in the background; each keeps re-connecting with backoff. */
  start(): void;
  close(): Promise<void>;
}

export function sshOptionsFor(crew: CrewOptions, runtimeDir: string): { configFile?: string; controlDir: string } {
  return { configFile: crew.sshConfig, controlDir: controlDir(runtimeDir) };
}

export function openFront(
  crew: CrewOptions,
  deps: {
    runtimeDir: string;
    log: Logger;
    ready: Promise<void>;
    store: () => StateStore | undefined;
    /** Whether a permission request id is the local machine's (the supervisor knows). */
    holdsRequest: (id: string) => Promise<boolean>;
    /** The DNS resolver of --nodes-from (a test's own); the system's, or --dns-server's, otherwise. */
    resolver?: SrvResolver;
  },
): Front {
  const links = new Map<string, NodeLink>();
  let router: CrewRouter | undefined = undefined;
  let started = false;
  const ssh = sshOptionsFor(crew, deps.runtimeDir);
  const linkOf = (spec: NodeSpec): NodeLink =>
    new NodeLink(spec, {
      ssh,
      frontVersion: version,
      log: deps.log,
      onUp: (link) => void router?.adopt(link),
      onLog: (link, params) => router?.forwardLog(link.name, params),
    });
  for (const spec of crew.nodes) links.set(spec.name, linkOf(spec));
  const discovery = crew.discovery && discover(crew.discovery, links, linkOf, () => started, deps.log, deps.resolver);
  router = new CrewRouter({
    links,
    log: deps.log,
    store: deps.store,
    ready: deps.ready,
    readTimeoutMs: crew.readTimeoutMs,
    local: localPlaces(deps.store, deps.holdsRequest),
  });
  return {
    router,
    links,
    start() {
      started = true;
      for (const link of links.values()) void link.connect();
      discovery?.start();
    },
    async close() {
      discovery?.stop();
      await Promise.all([...links.values()].map((l) => l.close()));
    },
  };
}

const sameTarget = (a: NodeSpec, b: HttpNodeSpec): boolean => a.transport === 'http' && a.url === b.url && a.address === b.address;

/**
 * DNS discovery feeding the links: a new target is a new link (connected at once once the
 * front has started), a moved one (another port or address) a fresh link in its place, one
 * that is gone is retired (down, saying so) and revived when it returns. A name given with
 * --node stays that node: discovery does not replace it.
 */
function discover(
  d: Discovery,
  links: Map<string, NodeLink>,
  linkOf: (spec: NodeSpec) => NodeLink,
  started: () => boolean,
  log: Logger,
  resolver?: SrvResolver,
): DnsDiscovery {
  const found = new Set<string>();
  return new DnsDiscovery(
    d,
    resolver ?? systemResolver(d.dnsServer),
    {
      found(spec) {
        const link = links.get(spec.name);
        if (link && !found.has(spec.name)) {
          log.warn('node discovery: a target has the name of a node given with --node; kept that node', { node: spec.name, target: spec.host });
          return;
        }
        found.add(spec.name);
        if (link && sameTarget(link.spec, spec)) {
          if (link.isRetired) {
            log.info('node discovery: node back', { node: spec.name, url: spec.url });
            void link.revive();
          }
          return;
        }
        if (link) void link.close();
        log.info(link ? 'node discovery: node moved' : 'node discovery: node found', { node: spec.name, url: spec.url, address: spec.address });
        const fresh = linkOf(spec);
        links.set(spec.name, fresh);
        if (started()) void fresh.connect();
      },
      gone(name, reason) {
        const link = links.get(name);
        if (!link || link.isRetired) return;
        log.info('node discovery: node gone', { node: name });
        void link.retire(
          reason,
          `nothing to do if ${name} was removed on purpose; otherwise check its pod or server and its SRV record (tabcrew reconnects when the record returns)`,
        );
      },
    },
    log,
  );
}
