import { ResourceTemplate, type McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult, LoggingMessageNotification, ServerNotification } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../audit/logger.js';
import { toolCallEvent, type AuditLog, type AuditOutcome } from '../audit/audit-log.js';
import type { StateStore } from '../store/state-store.js';
import { UserError } from '../supervisor/errors.js';
import { DEFAULT_NODE_READ_TIMEOUT_MS, NODE_READ_LIMIT_MS, nodeCallLimit, seconds, TIMED_OUT, within } from './call-limits.js';
import { CrewMap, MAX_SESSIONS_PER_NODE } from './crew-map.js';
import { nodesNamedIn, qualify, qualifyResult, stripNode } from './names.js';
import { ALL_NODES, LOCAL_NODE } from './node-spec.js';
import { NodeTimeoutError, type NodeLink } from './node-link.js';
import { withNodeFields, withNodeParam } from './schemas.js';

const LOG_MESSAGE = 'notifications/message';

/** Where a node's resources appear on the front. */
const NODE_URI = 'tabcrew://nodes/';

/** Arguments that aim a call at one thing: a read-only call with none of them is a listing, sent to every node. */
const TARGET_KEYS = new Set(['session', 'agent', 'session_id', 'run', 'run_id', 'request_id', 'id', 'message_id', 'task', 'name']);

type Args = Record<string, unknown>;
type Extra = { _meta?: { progressToken?: string | number }; sendNotification: (n: ServerNotification) => Promise<void> };
type LocalCall = (args: Args) => Promise<CallToolResult>;
type Target = { kind: 'local' } | { kind: 'node'; node: string } | { kind: 'all' };

export interface CrewRouterOptions {
  links: Map<string, NodeLink>;
  log: Logger;
  /** The front's state, once open. */
  store: () => StateStore | undefined;
  audit: () => Pick<AuditLog, 'append'> | undefined;
  ready?: Promise<void>;
  clientName?: () => string | undefined;
  /** Each node's deadline in a crew-wide read (serve --node-read-timeout). */
  readTimeoutMs?: number;
  /** What the local machine holds: its sessions and ids are never a node's. */
  local: LocalPlaces;
}

/** Kinds of ids a node hands out that later calls name. */
export type IdKind = 'run' | 'request';

/** The local machine's side of "where does this live": read from its own state, never from a node. */
export interface LocalPlaces {
  /** How a ref names a local session: by its id, by its name, or not at all. */
  session(ref: string): Promise<'id' | 'name' | undefined>;
  /** Every local session id (a node may not claim one). */
  sessionIds(): Promise<Set<string>>;
  /** Whether a run or permission request id is the local machine's. */
  holds(kind: IdKind, id: string): Promise<boolean>;
}

/** Which id kind an argument or result key carries. */
const ID_KEYS: Record<string, IdKind> = { run_id: 'run', request_id: 'request' };
const kindOfKey = (key: string): string => ID_KEYS[key] ?? key;

/** A node's answer to one call: `timedOut` when it missed its limit (it may still be working). */
type NodeAnswer = { r: CallToolResult; timedOut?: boolean };

const text = (structured: Record<string, unknown>): CallToolResult => ({
  content: [{ type: 'text', text: JSON.stringify(structured, null, 2) }],
  structuredContent: structured,
});
const failure = (message: string): CallToolResult => ({ content: [{ type: 'text', text: message }], isError: true });
const resultText = (r: CallToolResult): string =>
  (r.content ?? [])
    .map((c) => (c.type === 'text' ? c.text : ''))
    .join(' ')
    .trim();

/**
 * The front's one hook into the MCP server: every tool registered after `wrap(server)` gets
 * an optional `node`, and its calls go to the local tools or, over the node's MCP session,
 * to the same tool on that node. Listings fan out to every node and are merged, each entry
 * naming its node; a node that cannot answer is reported beside the others' answers.
 */
export class CrewRouter {
  readonly map: CrewMap;
  private loaded?: Promise<void>;
  private clientName?: () => string | undefined;
  /** The front's MCP servers (one per client session over HTTP): where nodes' log messages go. */
  private readonly servers = new Set<McpServer>();
  /** Nodes whose last whole list went past MAX_SESSIONS_PER_NODE: how many sessions were not kept. */
  private readonly over = new Map<string, number>();

  constructor(private readonly opts: CrewRouterOptions) {
    this.map = new CrewMap(opts.store);
    this.clientName = opts.clientName;
  }

  private async ready(): Promise<void> {
    await this.opts.ready;
    this.loaded ??= this.map.load();
    await this.loaded;
  }

  wrap(server: McpServer): void {
    // The SDK's registerTool is generic over each tool's schemas; the wrapper only passes them through.
    type Config = { inputSchema?: unknown; outputSchema?: unknown; annotations?: { readOnlyHint?: boolean } };
    type Callback = (args: Args, extra: Extra) => Promise<CallToolResult>;
    this.registerNodeResources(server);
    const original = server.registerTool.bind(server) as unknown as (name: string, config: Config, cb: Callback) => unknown;
    this.clientName ??= () => server.server.getClientVersion()?.name;
    this.servers.add(server);
    const closed = server.server.onclose;
    server.server.onclose = () => {
      this.servers.delete(server);
      closed?.();
    };
    (server as unknown as { registerTool: typeof original }).registerTool = (name, config, cb) => {
      const hadInput = config.inputSchema !== undefined;
      const readOnly = config.annotations?.readOnlyHint === true;
      return original(
        name,
        {
          ...config,
          inputSchema: withNodeParam(config.inputSchema),
          outputSchema: config.outputSchema === undefined ? undefined : withNodeFields(config.outputSchema),
        },
        async (args: Args, extra: Extra): Promise<CallToolResult> => {
          // A tool registered without an input schema takes only `extra`.
          const local: LocalCall = (a) => (hadInput ? cb(a, extra) : (cb as unknown as (e: Extra) => Promise<CallToolResult>)(extra));
          return this.route(name, readOnly, args ?? {}, extra, local);
        },
      );
    };
  }

  /**
   * A node's resources on the front: `tabcrew://nodes/<node>/<the node's URI after tabcrew://>`,
   * listed beside the local ones and read from that node; a subscription re-reads it (readNodeResource).
   */
  private registerNodeResources(server: McpServer): void {
    const front = (node: string, uri: string): string => `${NODE_URI}${node}/${uri.replace(/^tabcrew:\/\//, '')}`;
    server.registerResource(
      'node-resource',
      new ResourceTemplate(`${NODE_URI}{node}/{+path}`, {
        list: async () => {
          // A crew-wide read: a node that does not answer within its deadline is left out.
          const lists = await Promise.all(
            [...this.opts.links.values()].map(async (link) => {
              if (link.state !== 'up') return [];
              const listed = await within(
                link.listResources(this.readTimeout).catch(() => []),
                this.readTimeout,
              );
              if (listed === TIMED_OUT) return [];
              return listed.map((r) => ({ ...r, uri: front(link.name, r.uri), name: `${link.name}: ${r.name}` }));
            }),
          );
          return { resources: lists.flat() };
        },
      }),
      { title: "A node's resource", description: 'A resource of a node of the crew (tabcrew://nodes/<node>/…), read from that node.' },
      async (_uri, vars) => {
        const node = String(Array.isArray(vars.node) ? vars.node[0] : vars.node);
        const path = String(Array.isArray(vars.path) ? vars.path[0] : vars.path);
        const link = this.opts.links.get(node);
        if (!link) throw new UserError(`no node "${node}" in this crew; nodes: ${[...this.opts.links.keys()].join(', ')}`);
        const contents = await link.readResource(`tabcrew://${path}`, NODE_READ_LIMIT_MS);
        return { contents: contents.map((c) => ({ ...c, uri: front(node, c.uri) })) as never };
      },
    );
  }

  /** A node's resource as text (what a subscription re-reads), or undefined for a URI that is not a node's. */
  readNodeResource(uri: string): Promise<string> | undefined {
    if (!uri.startsWith(NODE_URI)) return undefined;
    const rest = uri.slice(NODE_URI.length);
    const slash = rest.indexOf('/');
    const link = slash > 0 ? this.opts.links.get(rest.slice(0, slash)) : undefined;
    if (!link) return Promise.reject(new UserError(`${uri} names no node of this crew; nodes: ${[...this.opts.links.keys()].join(', ')}`));
    return link
      .readResource(`tabcrew://${rest.slice(slash + 1)}`, NODE_READ_LIMIT_MS)
      .then((contents) => contents.map((c) => c.text ?? c.blob ?? '').join('\n'));
  }

  /** Where a call goes: an explicit node, else a node named by an agent prefix or a known id, else a listing or local. */
  private async target(tool: string, readOnly: boolean, node: unknown, args: Args): Promise<Target> {
    if (typeof node === 'string') {
      if (node === ALL_NODES) {
        if (!readOnly) throw new UserError(`node "${ALL_NODES}" (every node) is for read-only tools; ${tool} changes things: name one node`);
        return { kind: 'all' };
      }
      if (node === LOCAL_NODE) return { kind: 'local' };
      if (!this.opts.links.has(node)) throw new UserError(`no node "${node}" in this crew; nodes: ${[LOCAL_NODE, ...this.opts.links.keys()].join(', ')}`);
      return { kind: 'node', node };
    }
    const places = new Set<string>();
    for (const n of nodesNamedIn(args)) {
      if (n !== LOCAL_NODE && !this.opts.links.has(n))
        throw new UserError(`"${n}/…" names no node of this crew; nodes: ${[LOCAL_NODE, ...this.opts.links.keys()].join(', ')}`);
      places.add(n);
    }
    if (places.size > 1) throw new UserError(`the arguments name agents on several nodes (${[...places].join(', ')}); one call goes to one node`);
    for (const [k, v] of Object.entries(args)) {
      if (typeof v !== 'string') continue;
      const place = k === 'session' || k === 'session_id' ? await this.placeOfSession(v) : k.endsWith('_id') ? await this.placeOfId(k, v) : undefined;
      if (place !== undefined) places.add(place);
    }
    if (places.size > 1) throw new UserError(`the arguments name things on several nodes (${[...places].join(', ')}); one call goes to one node`);
    const [place] = places;
    if (place !== undefined) return place === LOCAL_NODE ? { kind: 'local' } : { kind: 'node', node: place };
    const aimed = Object.entries(args).some(([k, v]) => TARGET_KEYS.has(k) && v !== undefined);
    if (readOnly && !aimed && this.opts.links.size) return { kind: 'all' };
    return { kind: 'local' };
  }

  /**
   * Where a session lives. A local session id is the local machine's, whatever a node says;
   * a name (or id) found in more than one place is refused as ambiguous, never guessed.
   * Undefined: nobody knows it (the local tool then says so).
   */
  private async placeOfSession(ref: string): Promise<string | undefined> {
    const local = await this.opts.local.session(ref);
    if (local === 'id') return LOCAL_NODE;
    const places = new Set<string>(local ? [LOCAL_NODE] : []);
    const byId = this.map.nodeOfSessionId(ref);
    if (byId !== undefined) places.add(byId);
    for (const n of this.map.nodesOfSessionName(ref)) places.add(n);
    if (places.size > 1) {
      const where = [...places];
      throw new UserError(
        `session "${ref}" is ambiguous: there is one on ${where.join(' and on ')}. Pass node (${where.map((n) => `"${n}"`).join(' or ')}) to pick one, or use its session id (s-…).`,
      );
    }
    return [...places][0];
  }

  /** Where a run or request id lives: the local machine's own first, else the one node that handed it out. */
  private async placeOfId(key: string, id: string): Promise<string | undefined> {
    const kind = ID_KEYS[key];
    if (kind && (await this.opts.local.holds(kind, id))) return LOCAL_NODE;
    return this.map.nodeOfId(kindOfKey(key), id);
  }

  private async route(tool: string, readOnly: boolean, all: Args, extra: Extra, local: LocalCall): Promise<CallToolResult> {
    await this.ready();
    const { node, ...args } = all;
    let target: Target;
    try {
      target = await this.target(tool, readOnly, node, args);
      if (tool === 'create_session') await this.checkSessionName(target.kind === 'node' ? target.node : LOCAL_NODE, args.name);
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      await this.record(tool, all, 'refused', 0, e.message);
      return failure(e.message);
    }
    if (target.kind === 'local') return local(args);
    if (target.kind === 'node') return (await this.onNode(target.node, tool, args, extra, nodeCallLimit({ readOnly }))).r;
    return this.everywhere(tool, args, extra, local);
  }

  private async checkSessionName(node: string, name: unknown): Promise<void> {
    if (typeof name !== 'string') return;
    const elsewhere = this.map.list().filter((s) => s.name === name && s.node !== node);
    const localState = node === LOCAL_NODE ? undefined : await this.opts.store()?.read();
    const onLocal = localState?.sessions.some((s) => s.name === name);
    if (elsewhere.length || onLocal) {
      throw new UserError(
        `a session named "${name}" already exists on ${onLocal ? LOCAL_NODE : elsewhere[0].node}; session names are unique across the crew: pick another name`,
      );
    }
  }

  /** One call on one node, as the front shows it; recorded in the front's audit log. At `limitMs` it is given up on. */
  private async onNode(node: string, tool: string, args: Args, extra: Extra, limitMs: number): Promise<NodeAnswer> {
    const started = Date.now();
    const link = this.opts.links.get(node)!;
    const forwarded = stripNode(node, args) as Args;
    const token = extra._meta?.progressToken;
    let answer: NodeAnswer;
    let outcome: AuditOutcome = 'ok';
    let reason: string | undefined;
    try {
      // The link tells the node to stop at the limit; the race holds even for a link that never settles.
      const r = await within(
        link.call(tool, forwarded, {
          timeoutMs: limitMs,
          onprogress:
            token === undefined
              ? undefined
              : (p) => void extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, ...p } }).catch(() => undefined),
        }),
        limitMs,
      );
      if (r === TIMED_OUT) throw new NodeTimeoutError(`node ${node}: ${tool} did not answer within ${seconds(limitMs)}`);
      if (r.isError) {
        outcome = 'refused';
        reason = resultText(r);
        answer = { r: failure(`node ${node}: ${reason}`) };
      } else {
        const structured = { ...(qualifyResult(node, r.structuredContent ?? {}) as Args), node };
        await this.learn(node, tool, forwarded, r.structuredContent ?? {}, false);
        answer = { r: text(structured) };
      }
    } catch (e) {
      const timedOut = e instanceof NodeTimeoutError;
      outcome = e instanceof UserError && !timedOut ? 'refused' : 'failed';
      reason = (e as Error).message;
      answer = {
        r: failure(timedOut ? `${reason}; it may still be working on it. ${this.timeoutFix(node)}` : reason),
        ...(timedOut ? { timedOut } : {}),
      };
    }
    await this.record(tool, { ...args, node }, outcome, Date.now() - started, reason);
    return answer;
  }

  private get readTimeout(): number {
    return this.opts.readTimeoutMs ?? DEFAULT_NODE_READ_TIMEOUT_MS;
  }

  private timeoutFix(node: string): string {
    return `Check it with tabcrew nodes or tabcrew doctor --node ${node}; a node that is only slow needs a longer --node-read-timeout (now ${seconds(this.readTimeout)}).`;
  }

  /**
   * A listing: every node at once, merged; a node that fails is one entry of `nodes`, not a
   * failed call. Each node has the read deadline: one that never answers costs the call that
   * long and is reported as `timeout`, beside the others' answers.
   */
  private async everywhere(tool: string, args: Args, extra: Extra, local: LocalCall): Promise<CallToolResult> {
    const names = [LOCAL_NODE, ...this.opts.links.keys()];
    const answers = await Promise.all(
      names.map(async (n): Promise<NodeAnswer & { node: string }> => {
        if (n === LOCAL_NODE) return { node: n, r: await local(args) };
        return { node: n, ...(await this.onNode(n, tool, args, { ...extra, _meta: undefined }, this.readTimeout)) };
      }),
    );
    const merged: Args = {};
    const nodes: { node: string; ok: boolean; error?: string; fix?: string; note?: string }[] = [];
    for (const { node, r, timedOut } of answers) {
      if (timedOut) {
        nodes.push({ node, ok: false, error: 'timeout', fix: `${node} did not answer within ${seconds(this.readTimeout)}. ${this.timeoutFix(node)}` });
        continue;
      }
      if (r.isError) {
        const link = this.opts.links.get(node);
        nodes.push({ node, ok: false, error: resultText(r), ...(link?.report().fix ? { fix: link.report().fix } : {}) });
        continue;
      }
      const { node: _answeredBy, ...structured } = (r.structuredContent ?? {}) as Args;
      void _answeredBy;
      for (const [k, v] of Object.entries(structured)) {
        if (Array.isArray(v)) {
          const entries = v.map((e) => (e && typeof e === 'object' && !Array.isArray(e) ? { ...(e as Args), node } : e));
          merged[k] = [...((merged[k] as unknown[]) ?? []), ...entries];
        } else if (!(k in merged)) merged[k] = v;
      }
      if (node !== LOCAL_NODE && tool === 'list_sessions') await this.learn(node, tool, args, structured, true);
      const over = this.over.get(node);
      nodes.push({
        node,
        ok: true,
        ...(over
          ? {
              note: `${node} lists ${over} sessions more than the ${MAX_SESSIONS_PER_NODE} the front keeps for a node: they are listed, but reached only with node: "${node}"`,
            }
          : {}),
      });
    }
    markAmbiguous(merged);
    if (nodes.every((n) => !n.ok)) return failure(`${tool} failed on every node: ${nodes.map((n) => `${n.node}: ${n.error}`).join('; ')}`);
    return text({ ...merged, nodes });
  }

  /**
   * Remembers where sessions and other ids live, from what a node answered: for that node
   * only. Sessions come only from tool results (a log message names none); an id another
   * place already holds stays there.
   */
  private async learn(node: string, tool: string, args: Args, structured: Args, whole: boolean): Promise<void> {
    const sessions: { id: string; name: string }[] = [];
    const fromResult = tool !== LOG_MESSAGE;
    const visit = (v: unknown, key: string): void => {
      if (typeof v === 'string' && key.endsWith('_id') && key !== 'session_id' && key !== 'claude_session_id') {
        if (!this.map.rememberId(kindOfKey(key), v, node)) this.opts.log.warn('node named an id another node holds; ignored', { node, key });
      }
      if (Array.isArray(v)) v.forEach((x) => visit(x, key));
      else if (v && typeof v === 'object') {
        const o = v as Args;
        if (fromResult && typeof o.session_id === 'string' && typeof o.name === 'string' && typeof o.root === 'string')
          sessions.push({ id: o.session_id, name: o.name });
        for (const [k, x] of Object.entries(o)) visit(x, k);
      }
    };
    visit(structured, '');
    try {
      if (tool === 'delete_session' && typeof args.session === 'string') await this.map.forget(node, args.session);
      else if (sessions.length || whole) {
        const local = await this.opts.local.sessionIds();
        const learned = await this.map.learnSessions(node, sessions, whole, (id) => local.has(id));
        if (learned.refused.length) this.opts.log.warn("node listed session ids that are another place's; not taken", { node, ids: learned.refused.length });
        if (learned.over) {
          if (!this.over.has(node)) this.opts.log.warn('node lists more sessions than the front keeps', { node, over: learned.over });
          this.over.set(node, learned.over);
        } else if (whole) this.over.delete(node);
      }
    } catch (e) {
      this.opts.log.error('crew map save failed', { node, error: (e as Error).message });
    }
  }

  /**
   * A node's MCP log message (status change, permission request, attention notice) as the
   * front's own: agent names carry the node, `data.node` names it, and ids in it (a
   * permission request) route later calls to that node.
   */
  forwardLog(node: string, params: LoggingMessageNotification['params']): void {
    const { level, logger, data } = params;
    const object = data && typeof data === 'object' && !Array.isArray(data) ? (data as Args) : undefined;
    // A status change's from/to are statuses, not the agent names those keys carry elsewhere.
    const body: Args = !object
      ? { message: data }
      : logger === 'tabcrew.status'
        ? { ...object, ...(typeof object.agent === 'string' ? { agent: qualify(node, object.agent) } : {}) }
        : (qualifyResult(node, object) as Args);
    void this.learn(node, LOG_MESSAGE, {}, body, false);
    for (const server of this.servers) {
      if (!server.isConnected()) continue;
      void server.sendLoggingMessage({ level, ...(logger ? { logger } : {}), data: { ...body, node } }).catch(() => undefined);
    }
  }

  /** After a node (re)connects: its sessions are the crew's again (a restarted front adopts them). */
  async adopt(link: NodeLink): Promise<void> {
    await this.ready();
    try {
      const r = await link.call('list_sessions', {}, { timeoutMs: this.readTimeout });
      if (!r.isError) await this.learn(link.name, 'list_sessions', {}, (r.structuredContent ?? {}) as Args, true);
    } catch (e) {
      this.opts.log.info('node adopt failed', { node: link.name, error: (e as Error).message });
    }
  }

  private async record(tool: string, args: Args, outcome: AuditOutcome, ms: number, reason?: string): Promise<void> {
    try {
      await this.opts.audit()?.append(toolCallEvent({ tool, caller: this.clientName?.() ?? 'unknown', args, outcome, ms, reason }));
    } catch (e) {
      this.opts.log.error('audit append failed', { tool, error: (e as Error).message });
    }
  }
}

/**
 * A merged listing's session entries whose name is on more than one node get `ambiguous`:
 * a call naming it is refused until `node` picks one. Linear in the listing.
 */
function markAmbiguous(merged: Args): void {
  for (const list of Object.values(merged)) {
    if (!Array.isArray(list)) continue;
    const places = new Map<string, Set<string>>();
    const sessions = list.filter(
      (e): e is { name: string; session_id: string; node: string } =>
        !!e && typeof e === 'object' && typeof (e as Args).session_id === 'string' && typeof (e as Args).name === 'string',
    );
    for (const e of sessions) (places.get(e.name) ?? places.set(e.name, new Set()).get(e.name)!).add(e.node);
    for (const e of sessions) {
      const where = places.get(e.name)!;
      if (where.size > 1) (e as Args).ambiguous = `session name "${e.name}" is on ${[...where].join(' and on ')}: pass node to pick one, or use the session id`;
    }
  }
}
