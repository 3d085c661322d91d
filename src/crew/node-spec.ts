import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/** The front itself: tools called without `node` (or with this one) run here. */
export const LOCAL_NODE = 'local';
/** `node: "*"`: a read-only call to every node at once (a node name starts with a letter, so none is called this). */
export const ALL_NODES = '*';
export const DEFAULT_NODE_COMMAND = 'tabcrew serve';

// A node name is part of agent names (`box1/Agent_3`) and of file names: letters first, so
// it can never look like a flag, a path or an agent name.
export const NODE_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;
// What may reach ssh's argv as user and host: no leading '-', no spaces, no shell or ssh
// option characters. IPv6 literals go in brackets in the URL.
const SSH_USER = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/;
const SSH_HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|[0-9A-Fa-f:.]+)$/;

export const nodeNameSchema = z
  .string()
  .regex(NODE_NAME, 'a node name is a letter then up to 31 letters, digits, "_" or "-"')
  .refine((n) => n !== LOCAL_NODE, `"${LOCAL_NODE}" names the front itself; pick another node name`);

/** A node reached over OpenSSH: its `tabcrew serve` runs on the ssh channel's stdio. */
export interface SshNodeSpec {
  transport?: 'ssh';
  name: string;
  user?: string;
  host: string;
  port?: number;
  /** Run by the node's login shell: the node's own flags and TABCREW_* settings go here. */
  command?: string;
}

/** How a front knows an https node is the one it means: a pinned certificate fingerprint, or a CA. */
export type NodeTrust =
  | { kind: 'fingerprint'; fingerprint: string; from: string }
  | { kind: 'fingerprint-file'; file: string }
  | { kind: 'ca'; caFile: string }
  /** Plain http: loopback, or asked for with --node-insecure. */
  | { kind: 'none' };

/** A node reached over Streamable HTTP: its `tabcrew serve --http` (crew/http-transport.ts). */
export interface HttpNodeSpec {
  transport: 'http';
  name: string;
  /** The node's MCP endpoint, https://host:port/mcp. */
  url: string;
  host: string;
  port: number;
  tls: boolean;
  /** The file holding the node's bearer token (read at each connection, never logged). */
  tokenFile: string;
  trust: NodeTrust;
  /** The address to connect to, when discovery found it (the host stays the name in Host and TLS). */
  address?: string;
}

export type NodeSpec = SshNodeSpec | HttpNodeSpec;

export const isHttpNode = (spec: NodeSpec): spec is HttpNodeSpec => spec.transport === 'http';

/** What the front is told about http nodes' secrets and trust (flags; the nodes file may say it per node). */
export interface HttpNodeOptions {
  /** --node-token-file NAME=FILE; the key "*" is every node without its own. */
  tokenFiles?: Record<string, string>;
  /** --node-fingerprint NAME=SHA256. */
  fingerprints?: Record<string, string>;
  /** --node-fingerprint-dir D: D/<name>.sha256 for every node without its own fingerprint. */
  fingerprintDir?: string;
  /** --node-ca FILE: verify nodes' certificates against this CA instead of pinning. */
  caFile?: string;
  /** --node-insecure: plain http to a node that is not on loopback. */
  insecure?: boolean;
}

const nodesFileSchema = z.object({
  nodes: z
    .array(
      z
        .object({
          name: z.string(),
          url: z.string().max(300),
          command: z.string().min(1).max(4096).optional(),
          /** http(s) nodes: the file with the node's token (relative to the nodes file). */
          token_file: z.string().min(1).max(4096).optional(),
          /** https nodes: the node's certificate SHA-256 (tabcrew config http --fingerprint). */
          fingerprint: z.string().max(200).optional(),
        })
        .strict(),
    )
    .min(1),
});

export class NodeSpecError extends Error {
  override name = 'NodeSpecError';
}

/** `ssh://[user@]host[:port]` → its parts, refusing anything that could turn into an ssh option. */
export function parseSshUrl(url: string): { user?: string; host: string; port?: number } {
  const m = /^ssh:\/\/(?:([^@/]+)@)?(\[[0-9A-Fa-f:.]+\]|[^:/@]+)(?::(\d{1,5}))?\/?$/.exec(url);
  if (!m) throw new NodeSpecError(`"${url}" is not an ssh URL; write ssh://[user@]host[:port], e.g. ssh://dev@box1:2222`);
  const [, user, rawHost, port] = m;
  const host = rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost;
  if (user !== undefined && !SSH_USER.test(user))
    throw new NodeSpecError(`"${user}" in ${url} is not a user name ssh accepts here (letters, digits, . _ -; not starting with -)`);
  if (!SSH_HOST.test(host) || host.startsWith('-'))
    throw new NodeSpecError(`"${host}" in ${url} is not a host name or address (letters, digits, . -; not starting with -)`);
  const p = port === undefined ? undefined : Number(port);
  if (p !== undefined && (p < 1 || p > 65535)) throw new NodeSpecError(`port ${port} in ${url} is out of range (1-65535)`);
  return { user, host, port: p };
}

/** A SHA-256 fingerprint as `AB:CD:…`, from that form, plain hex, or openssl's `sha256 Fingerprint=…`. */
export function normalizeFingerprint(value: string): string | undefined {
  const hex = value
    .trim()
    .replace(/^(?:sha-?256(?:\s+fingerprint)?\s*[=:]\s*)/i, '')
    .replace(/:/g, '')
    .toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex)) return undefined;
  return hex.match(/../g)!.join(':');
}

const isLoopbackHost = (host: string): boolean => host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);

/** `https://host[:port][/mcp]` (or `http://` on loopback / with --node-insecure) → endpoint, host, port. */
export function parseHttpUrl(url: string, insecure = false): { url: string; host: string; port: number; tls: boolean } {
  const m = /^(https?):\/\/(\[[0-9A-Fa-f:.]+\]|[^:/@[\]]+)(?::(\d{1,5}))?(?:\/|\/mcp\/?)?$/.exec(url);
  if (!m) throw new NodeSpecError(`"${url}" is not a node URL; write https://host:port (the node's tabcrew serve --http), e.g. https://box1:8787`);
  const [, scheme, rawHost, portText] = m;
  const host = rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost;
  if (!SSH_HOST.test(host) || host.startsWith('-')) throw new NodeSpecError(`"${host}" in ${url} is not a host name or address (letters, digits, . -)`);
  const tls = scheme === 'https';
  const port = portText === undefined ? (tls ? 443 : 80) : Number(portText);
  if (port < 1 || port > 65535) throw new NodeSpecError(`port ${portText} in ${url} is out of range (1-65535)`);
  if (!tls && !insecure && !isLoopbackHost(host))
    throw new NodeSpecError(
      `${url} is plain http to a host that is not this machine: the token and every message would cross the network readable; use https:// (serve --http --tls on the node), or pass --node-insecure if the network itself is private`,
    );
  return { url: `${scheme}://${rawHost}:${port}/mcp`, host, port, tls };
}

/** One node's token file and trust, from the nodes file entry, then the flags, then their "*" defaults. */
function httpParts(
  name: string,
  own: { token_file?: string; fingerprint?: string },
  opts: HttpNodeOptions,
  tls: boolean,
  where: string,
): Pick<HttpNodeSpec, 'tokenFile' | 'trust'> {
  const tokenFile = own.token_file ?? opts.tokenFiles?.[name] ?? opts.tokenFiles?.['*'];
  if (!tokenFile)
    throw new NodeSpecError(
      `${where}: node ${name} is reached over http and needs its bearer token: give --node-token-file ${name}=FILE (or '*'=FILE for every node), or token_file in the nodes file; the file holds the node's token (tabcrew config http on the node prints it)`,
    );
  if (!tls) return { tokenFile: resolve(tokenFile), trust: { kind: 'none' } };
  const given = own.fingerprint ?? opts.fingerprints?.[name];
  if (given !== undefined) {
    const fingerprint = normalizeFingerprint(given);
    if (!fingerprint)
      throw new NodeSpecError(
        `${where}: "${given}" is not a SHA-256 fingerprint; copy what tabcrew config http --fingerprint prints on the node (AB:CD:… , 32 bytes)`,
      );
    return {
      tokenFile: resolve(tokenFile),
      trust: { kind: 'fingerprint', fingerprint, from: own.fingerprint !== undefined ? 'the nodes file' : `--node-fingerprint ${name}=…` },
    };
  }
  if (opts.fingerprintDir) return { tokenFile: resolve(tokenFile), trust: { kind: 'fingerprint-file', file: resolve(opts.fingerprintDir, `${name}.sha256`) } };
  if (opts.caFile) return { tokenFile: resolve(tokenFile), trust: { kind: 'ca', caFile: resolve(opts.caFile) } };
  throw new NodeSpecError(
    `${where}: https node ${name} needs a way to know its certificate: pin it (--node-fingerprint ${name}=SHA256, fingerprint in the nodes file, or --node-fingerprint-dir D with D/${name}.sha256; tabcrew config http --fingerprint on the node prints it) or give the CA that signed it (--node-ca FILE)`,
  );
}

function spec(
  name: string,
  url: string,
  extra: { command?: string; token_file?: string; fingerprint?: string },
  opts: HttpNodeOptions,
  where: string,
): NodeSpec {
  const named = nodeNameSchema.safeParse(name);
  if (!named.success) throw new NodeSpecError(`${where}: node name "${name}": ${named.error.issues[0].message}`);
  try {
    if (/^https?:/.test(url)) {
      const parts = parseHttpUrl(url, opts.insecure);
      return { transport: 'http', name, ...parts, ...httpParts(name, extra, opts, parts.tls, where) };
    }
    return { name, ...parseSshUrl(url), ...(extra.command ? { command: extra.command } : {}) };
  } catch (e) {
    if (e instanceof NodeSpecError && e.message.startsWith(where)) throw e;
    throw new NodeSpecError(`${where}: ${(e as Error).message}`);
  }
}

/** One `--node NAME=ssh://…` or `--node NAME=https://…` value. */
export function parseNodeFlag(value: string, opts: HttpNodeOptions = {}): NodeSpec {
  const eq = value.indexOf('=');
  if (eq < 1) throw new NodeSpecError(`--node "${value}": write NAME=ssh://[user@]host[:port] or NAME=https://host:port, e.g. --node box1=ssh://dev@box1`);
  return spec(value.slice(0, eq), value.slice(eq + 1), {}, opts, `--node ${value}`);
}

/**
 * A nodes file (YAML or JSON): `nodes: [{ name, url, command?, token_file?, fingerprint? }]`.
 * Any mistake stops the front at start, naming the file and the entry, rather than a node
 * silently missing.
 */
export function readNodesFile(file: string, opts: HttpNodeOptions = {}): NodeSpec[] {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new NodeSpecError(`nodes file ${path} cannot be read: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new NodeSpecError(`nodes file ${path} is not valid YAML or JSON: ${(e as Error).message}`);
  }
  const parsed = nodesFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new NodeSpecError(
      `nodes file ${path}: ${issue.path.join('.') || 'top level'}: ${issue.message}; expected "nodes:" with a list of {name, url: ssh://[user@]host[:port] or https://host:port, command?, token_file?, fingerprint?}`,
    );
  }
  return parsed.data.nodes.map((n, i) =>
    spec(n.name, n.url, { ...n, ...(n.token_file ? { token_file: resolve(dirname(path), n.token_file) } : {}) }, opts, `nodes file ${path}, nodes[${i}]`),
  );
}

/** Flags and file together; a name given twice is a mistake, not an override. */
export function collectNodes(flags: string[], file: string | undefined, defaultCommand: string, opts: HttpNodeOptions = {}): NodeSpec[] {
  const nodes = [...flags.map((f) => parseNodeFlag(f, opts)), ...(file ? readNodesFile(file, opts) : [])];
  const seen = new Set<string>();
  for (const n of nodes) {
    if (seen.has(n.name)) throw new NodeSpecError(`node "${n.name}" is given twice (--node / --nodes-file); give each node one name`);
    seen.add(n.name);
  }
  return nodes.map((n) => (isHttpNode(n) ? n : { ...n, command: n.command ?? defaultCommand }));
}
