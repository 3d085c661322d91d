import { resolve } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { Config } from '../config.js';
import { sshOptionsFor, type CrewOptions } from '../crew/front.js';
import { DEFAULT_NODE_READ_TIMEOUT_MS } from '../crew/call-limits.js';
import { doctorNode } from '../crew/doctor-node.js';
import { NodeLink } from '../crew/node-link.js';
import { collectNodes, DEFAULT_NODE_COMMAND } from '../crew/node-spec.js';
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
      new Option('--node-read-timeout <seconds>', "each node's share of a crew-wide read: a node slower than this is reported as timeout, the others answer")
        .argParser(positiveSeconds)
        .default(DEFAULT_NODE_READ_TIMEOUT_MS / 1000)
        .env('TABCREW_NODE_READ_TIMEOUT'),
    );
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
  return {
    nodes: collectNodes(flags, file, (o.nodeCommand as string | undefined) ?? DEFAULT_NODE_COMMAND),
    sshConfig: o.sshConfig === undefined ? undefined : resolve(o.sshConfig as string),
    readTimeoutMs: o.nodeReadTimeout === undefined ? undefined : Math.round((o.nodeReadTimeout as number) * 1000),
  };
}

/** `tabcrew nodes`: connects to each node once and says how it is. Exits 1 when a node is not up. */
export async function nodesCommand(config: Config, crew: CrewOptions, opts: { json: boolean }): Promise<number> {
  if (!crew.nodes.length) {
    process.stderr.write('tabcrew: no nodes given; name them with --node NAME=ssh://[user@]host[:port] or --nodes-file FILE\n');
    return 2;
  }
  const ssh = sshOptionsFor(crew, config.runtimeDir);
  const rows = await Promise.all(
    crew.nodes.map(async (spec) => {
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
  const checks = await doctorNode(spec, sshOptionsFor(crew, config.runtimeDir));
  const ok = !checks.some((c) => c.status === 'fail');
  if (opts.json) printJson({ node: name, ok, checks });
  else
    printTable(
      ['CHECK', 'STATUS', 'DETAIL/FIX'],
      checks.map((c) => [c.check, c.status, c.fix ? `${c.detail} — fix: ${c.fix}` : c.detail]),
    );
  return ok ? 0 : 1;
}
