import { resolve } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { Config } from '../config.js';
import type { CrewOptions } from '../crew/front.js';
import { DEFAULT_NODE_READ_TIMEOUT_MS } from '../crew/call-limits.js';
import { collectNodes, DEFAULT_NODE_COMMAND, isHttpNode, type HttpNodeOptions, type NodeSpec } from '../crew/node-spec.js';
import { DEFAULT_REFRESH_MS, DnsDiscovery, parseDiscovery, systemResolver } from '../crew/dns-discovery.js';
import { version } from '../version.js';
import { printJson, printTable } from './table.js';

/** The flags that name a crew's nodes; `serve`, `nodes` and `doctor` share them. */
export function withNodeOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--node <name=ssh://[user@]host[:port]>', 'a node of the crew (repeatable): its own tabcrew is started over ssh')
        .argParser((v: string, prev: string[] = []) => [...prev, v])
        .default([] as string[]),
    )
    .addOption(new Option('--nodes-file <file>', 'nodes from a YAML/JSON file: nodes: [{name, url, command?}]').env('TABCREW_NODES_FILE'))
    .addOption(
      new Option('--node-command <cmd>', 'what a node\'s shell runs to start its tabcrew (per node: "command" in the nodes file)')
        .default(DEFAULT_NODE_COMMAND)
        .env('TABCREW_NODE_COMMAND'),
    )
    .addOption(new Option('--ssh-config <file>', 'ssh -F FILE for the nodes (default: your ~/.ssh/config)').env('TABCREW_SSH_CONFIG'))
    .addOption(
      new Option('--node-token-file <name=file>', "http(s) nodes: the file with node NAME's bearer token; '*'=FILE for every node without its own (repeatable)")
        .argParser(namedValue('--node-token-file'))
        .default({} as Record<string, string>),
    )
    .addOption(
      new Option('--node-fingerprint <name=sha256>', "https nodes: pin node NAME's certificate (tabcrew config http --fingerprint on it; repeatable)")
        .argParser(namedValue('--node-fingerprint'))
        .default({} as Record<string, string>),
    )
    .addOption(
      new Option('--node-fingerprint-dir <dir>', "https nodes: each node's pinned fingerprint is in DIR/<name>.sha256").env('TABCREW_NODE_FINGERPRINT_DIR'),
    )
    .addOption(new Option('--node-ca <file>', 'https nodes: verify certificates against this CA (PEM) instead of pinning').env('TABCREW_NODE_CA'))
    .addOption(new Option('--node-insecure', 'allow plain http:// nodes that are not on this machine (token and messages unencrypted)'))
    .addOption(
      new Option('--nodes-from <source>', 'find nodes by DNS: dns-srv:_tabcrew._tcp.NAME (one node per SRV target, named by its first label)').env(
        'TABCREW_NODES_FROM',
      ),
    )
    .addOption(new Option('--dns-server <ip[:port]>', 'with --nodes-from: ask this DNS server (default: the system resolver)').env('TABCREW_DNS_SERVER'))
    .addOption(
      new Option('--nodes-refresh <seconds>', 'with --nodes-from: look the SRV records up again this often')
        .argParser(positiveSeconds)
        .default(DEFAULT_REFRESH_MS / 1000)
        .env('TABCREW_NODES_REFRESH'),
    )
    .addOption(
      new Option('--node-read-timeout <seconds>', "each node's share of a crew-wide read: a node slower than this is reported as timeout, the others answer")
        .argParser(positiveSeconds)
        .default(DEFAULT_NODE_READ_TIMEOUT_MS / 1000)
        .env('TABCREW_NODE_READ_TIMEOUT'),
    );
}

/** `NAME=VALUE` flags gathered by name; a name given twice is a mistake. */
function namedValue(flag: string) {
  return (v: string, prev: Record<string, string> = {}): Record<string, string> => {
    const eq = v.indexOf('=');
    if (eq < 1 || eq === v.length - 1) throw new InvalidArgumentError(`write ${flag} NAME=VALUE (NAME a node, or '*' for every node).`);
    const name = v.slice(0, eq);
    if (name in prev) throw new InvalidArgumentError(`${flag} ${name}=… is given twice.`);
    return { ...prev, [name]: v.slice(eq + 1) };
  };
}

function positiveSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 3600) throw new InvalidArgumentError('must be a number of seconds above 0 (at most 3600), e.g. 5 or 0.5.');
  return n;
}

/** Validated at start: a bad --node or nodes file stops tabcrew with a message naming it. */
export function crewOptionsFrom(o: Record<string, unknown>): CrewOptions {
  const flags = (o.node as string[] | undefined) ?? [];
  const file = o.nodesFile as string | undefined;
  const http: HttpNodeOptions = {
    tokenFiles: (o.nodeTokenFile as Record<string, string> | undefined) ?? {},
    fingerprints: (o.nodeFingerprint as Record<string, string> | undefined) ?? {},
    fingerprintDir: o.nodeFingerprintDir === undefined ? undefined : resolve(o.nodeFingerprintDir as string),
    caFile: o.nodeCa === undefined ? undefined : resolve(o.nodeCa as string),
    insecure: !!o.nodeInsecure,
  };
  return {
    nodes: collectNodes(flags, file, (o.nodeCommand as string | undefined) ?? DEFAULT_NODE_COMMAND, http),
    ...(o.nodesFrom === undefined
      ? {}
      : {
          discovery: parseDiscovery(o.nodesFrom as string, {
            dnsServer: o.dnsServer as string | undefined,
            refreshMs: Math.round(((o.nodesRefresh as number | undefined) ?? DEFAULT_REFRESH_MS / 1000) * 1000),
            http,
          }),
        }),
    sshConfig: o.sshConfig === undefined ? undefined : resolve(o.sshConfig as string),
    readTimeoutMs: o.nodeReadTimeout === undefined ? undefined : Math.round((o.nodeReadTimeout as number) * 1000),
  };
}

/** `tabcrew nodes`: connects to each node once and says how it is. Exits 1 when a node is not up. */
export async function nodesCommand(config: Config, crew: CrewOptions, opts: { json: boolean }): Promise<number> {
  const nodes = [...crew.nodes];
  if (crew.discovery) {
    const found: NodeSpec[] = [];
    await new DnsDiscovery(crew.discovery, systemResolver(crew.discovery.dnsServer), { found: (s) => void found.push(s), gone: () => undefined }).refresh();
    nodes.push(...found.filter((f) => !nodes.some((n) => n.name === f.name)));
  }
  if (!nodes.length) {
    process.stderr.write(
      `tabcrew: no nodes ${crew.discovery ? `found under ${crew.discovery.srv}` : 'given'}; name them with --node NAME=ssh://[user@]host[:port] (or https://host:port), --nodes-file FILE or --nodes-from dns-srv:NAME\n`,
    );
    return 2;
  }
  const [{ sshOptionsFor }, { NodeLink }] = await Promise.all([import('../crew/front.js'), import('../crew/node-link.js')]);
  const ssh = sshOptionsFor(crew, config.runtimeDir);
  const rows = await Promise.all(
    nodes.map(async (spec) => {
      const link = new NodeLink(spec, { ssh, frontVersion: version, reconnect: false });
      await link.connect();
      let agents: number | undefined;
      let sessions: number | undefined;
      if (link.state === 'up') {
        try {
          const r = await link.call('list_sessions', {}, { timeoutMs: crew.readTimeoutMs ?? DEFAULT_NODE_READ_TIMEOUT_MS });
          const list = ((r.structuredContent as { sessions?: { agents: string[] }[] } | undefined)?.sessions ?? []) as { agents: string[] }[];
          sessions = list.length;
          agents = list.reduce((n, s) => n + s.agents.length, 0);
        } catch {
          // reported through the link's state
        }
      }
      const report = link.report();
      await link.close();
      return { ...report, sessions, agents };
    }),
  );
  if (opts.json) printJson({ nodes: rows });
  else {
    printTable(
      ['NODE', 'STATE', 'VERSION', 'SESSIONS', 'AGENTS', 'URL', 'LAST ERROR'],
      rows.map((r) => [r.node, r.state, r.version, r.sessions, r.agents, r.url, r.last_error ? `${r.last_error} — ${r.fix ?? ''}` : (r.version_note ?? '')]),
    );
  }
  return rows.every((r) => r.state === 'up') ? 0 : 1;
}

/** `tabcrew doctor --node N`: ssh, tabcrew, tmux and claude on that node, each with a fix. */
export async function doctorNodeCommand(config: Config, crew: CrewOptions, name: string, opts: { json: boolean }): Promise<number> {
  const spec = crew.nodes.find((n) => n.name === name);
  if (!spec) {
    process.stderr.write(
      `tabcrew: no node "${name}" given; name it with --node ${name}=ssh://[user@]host[:port] or in --nodes-file${crew.nodes.length ? ` (known: ${crew.nodes.map((n) => n.name).join(', ')})` : ''}\n`,
    );
    return 2;
  }
  const [{ sshOptionsFor }, { doctorHttpNode, doctorNode }] = await Promise.all([import('../crew/front.js'), import('../crew/doctor-node.js')]);
  const ssh = sshOptionsFor(crew, config.runtimeDir);
  const checks = isHttpNode(spec) ? await doctorHttpNode(spec, ssh) : await doctorNode(spec, ssh);
  const ok = !checks.some((c) => c.status === 'fail');
  if (opts.json) printJson({ node: name, ok, checks });
  else
    printTable(
      ['CHECK', 'STATUS', 'DETAIL/FIX'],
      checks.map((c) => [c.check, c.status, c.fix ? `${c.detail} — fix: ${c.fix}` : c.detail]),
    );
  return ok ? 0 : 1;
}
