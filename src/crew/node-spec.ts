import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
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

export const nodeSpecSchema = z.object({
  name: nodeNameSchema,
  user: z.string().regex(SSH_USER).optional(),
  host: z.string().regex(SSH_HOST),
  port: z.number().int().min(1).max(65535).optional(),
  /** Run by the node's login shell: the node's own flags and TABCREW_* settings go here. */
  command: z.string().min(1).max(4096).optional(),
});
export type NodeSpec = z.infer<typeof nodeSpecSchema>;

const nodesFileSchema = z.object({
  nodes: z
    .array(
      z
        .object({
          name: z.string(),
          url: z.string().max(300),
          command: z.string().min(1).max(4096).optional(),
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

function spec(name: string, url: string, command: string | undefined, where: string): NodeSpec {
  const named = nodeNameSchema.safeParse(name);
  if (!named.success) throw new NodeSpecError(`${where}: node name "${name}": ${named.error.issues[0].message}`);
  try {
    return { name, ...parseSshUrl(url), ...(command ? { command } : {}) };
  } catch (e) {
    throw new NodeSpecError(`${where}: ${(e as Error).message}`);
  }
}

/** One `--node NAME=ssh://…` value. */
export function parseNodeFlag(value: string): NodeSpec {
  const eq = value.indexOf('=');
  if (eq < 1) throw new NodeSpecError(`--node "${value}": write NAME=ssh://[user@]host[:port], e.g. --node box1=ssh://dev@box1`);
  return spec(value.slice(0, eq), value.slice(eq + 1), undefined, `--node ${value}`);
}

/**
 * A nodes file (YAML or JSON): `nodes: [{ name, url, command? }]`. Any mistake stops the
 * front at start, naming the file and the entry, rather than a node silently missing.
 */
export function readNodesFile(file: string): NodeSpec[] {
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
      `nodes file ${path}: ${issue.path.join('.') || 'top level'}: ${issue.message}; expected "nodes:" with a list of {name, url: ssh://[user@]host[:port], command?}`,
    );
  }
  return parsed.data.nodes.map((n, i) => spec(n.name, n.url, n.command, `nodes file ${path}, nodes[${i}]`));
}

/** Flags and file together; a name given twice is a mistake, not an override. */
export function collectNodes(flags: string[], file: string | undefined, defaultCommand: string): NodeSpec[] {
  const nodes = [...flags.map(parseNodeFlag), ...(file ? readNodesFile(file) : [])];
  const seen = new Set<string>();
  for (const n of nodes) {
    if (seen.has(n.name)) throw new NodeSpecError(`node "${n.name}" is given twice (--node / --nodes-file); give each node one name`);
    seen.add(n.name);
  }
  return nodes.map((n) => ({ ...n, command: n.command ?? defaultCommand }));
}
