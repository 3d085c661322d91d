import type { Logger } from '../audit/logger.js';
import type { StateStore } from '../store/state-store.js';
import { version } from '../version.js';
import { localPlaces } from './local-places.js';
import { NodeLink } from './node-link.js';
import type { NodeSpec } from './node-spec.js';
import { CrewRouter } from './router.js';
import { controlDir } from './ssh-argv.js';

/** What `serve` is told about the crew: --node, --nodes-file, --node-command, --ssh-config, --node-read-timeout. */
export interface CrewOptions {
  nodes: NodeSpec[];
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
  },
): Front {
  const links = new Map<string, NodeLink>();
  let router: CrewRouter | undefined = undefined;
  const ssh = sshOptionsFor(crew, deps.runtimeDir);
  for (const spec of crew.nodes) {
    links.set(
      spec.name,
      new NodeLink(spec, {
        ssh,
        frontVersion: version,
        log: deps.log,
        onUp: (link) => void router?.adopt(link),
        onLog: (link, params) => router?.forwardLog(link.name, params),
      }),
    );
  }
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
      for (const link of links.values()) void link.connect();
    },
    async close() {
      await Promise.all([...links.values()].map((l) => l.close()));
    },
  };
}
