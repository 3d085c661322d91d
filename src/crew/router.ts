import { ResourceTemplate, type McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult, LoggingMessageNotification, ServerNotification } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../audit/logger.js';
import type { AuditOutcome } from '../audit/audit-log.js';
import { routeOf, type Route } from '../server/routing.js';
import { recordCall, type CallRecorder } from '../server/tool-kit.js';
import type { StateStore } from '../store/state-store.js';
import { UserError } from '../supervisor/errors.js';
import { DEFAULT_NODE_READ_TIMEOUT_MS, NODE_READ_LIMIT_MS, nodeCallLimit, seconds, TIMED_OUT, within } from './call-limits.js';
import { CrewMap, MAX_SESSIONS_PER_NODE } from './crew-map.js';
import { qualify, qualifyResult, stripNode } from './names.js';
import { LOCAL_NODE } from './node-spec.js';
import { NodeTimeoutError, type NodeLink } from './node-link.js';
import { Placement, type IdKind, type LocalPlaces, type Target } from './placement.js';
import { withNodeFields, withNodeParam } from './schemas.js';

export type { IdKind, LocalPlaces } from './placement.js';

/** Where a node's resources appear on the front. */
const NODE_URI = 'tabcrew://nodes/';

type Args = Record<string, unknown>;
type Extra = { _meta?: { progressToken?: string | number }; sendNotification: (n: ServerNotification) => Promise<void> };
type LocalCall = (args: Args) => Promise<CallToolResult>;
/** A registered tool as the router sees it: its declared route and whether it only reads. */
type Tool = { name: string; route: Route; readOnly: boolean };

export interface CrewRouterOptions {
  links: Map<string, NodeLink>;
  log: Logger;
  /** The front's state, once open. */
  store: () => StateStore | undefined;
  ready?: Promise<void>;
  /** Each node's deadline in a crew-wide read (serve --node-read-timeout). */
  readTimeoutMs?: number;
  /** What the local machine holds: its sessions and ids are never a node's. */
  local: LocalPlaces;
}

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
 * an optional `node`, and its calls go, by the route the tool declares (server/routing.ts;
 * placement.ts decides), to the local tools or, over the node's MCP session, to the same
 * tool on that node. Crew-wide reads fan out to every node, each with its deadline, and are
 * merged, each entry naming its node; a node that cannot answer is reported beside the
 * others' answers.
 */
export class CrewRouter {
  readonly map: CrewMap;
  private readonly placement: Placement;
  private loaded?: Promise<void>;
  /** Argument names that carry run and request ids, from the tools' routes: the keys learned from a node's answers. */
  private readonly idKeys = new Map<string, IdKind>();
  /** The tool that lists a node's every session (route `sessions: 'lists'`): how a (re)connected node is adopted. */
  private listing?: string;
  /** The front's MCP servers (one per client session over HTTP): where nodes' log messages go. */
  private readonly servers = new Set<McpServer>();
  /** Nodes whose last whole list went past MAX_SESSIONS_PER_NODE: how many sessions were not kept. */
  private readonly over = new Map<string, number>();

  constructor(private readonly opts: CrewRouterOptions) {
    this.map = new CrewMap(opts.store);
    this.placement = new Placement(() => [...opts.links.keys()], this.map, opts.local);
  }

  private async ready(): Promise<void> {
    await this.opts.ready;
    this.loaded ??= this.map.load();
    await this.loaded;
  }

  /**
   * Wraps a server's tool registration: each tool registered afterwards is routed by the
   * route it declares (server/routing.ts), and its calls are recorded through `deps`, the
   * server's own audit path.
   */
  wrap(server: McpServer, deps: CallRecorder): void {
    // The SDK's registerTool is generic over each tool's schemas; the wrapper only passes them through.
    type Config = { inputSchema?: unknown; outputSchema?: unknown; annotations?: { readOnlyHint?: boolean } };
    type Callback = (args: Args, extra: Extra) => Promise<CallToolResult>;
    this.registerNodeResources(server);
    const original = server.registerTool.bind(server) as unknown as (name: string, config: Config, cb: Callback) => unknown;
    this.servers.add(server);
    const closed = server.server.onclose;
    server.server.onclose = () => {
      this.servers.delete(server);
      closed?.();
    };
    (server as unknown as { registerTool: typeof original }).registerTool = (name, config, cb) => {
      const tool = this.declared(name, config);
      const hadInput = config.inputSchema !== undefined;
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
          return this.route(tool, args ?? {}, extra, local, deps);
        },
      );
    };
  }

  /** A tool's route, checked once at registration: a tool that declares none cannot be routed, so it is not registered. */
  private declared(name: string, config: { annotations?: { readOnlyHint?: boolean } }): Tool {
    const route = routeOf(config);
    const readOnly = config.annotations?.readOnlyHint === true;
    if (!route) {
      throw new Error(`tool ${name} declares no route: add ...route({ targets, untargeted }) next to its schema (src/server/routing.ts, docs/extending.md)`);
    }
    if (route.untargeted === 'crew' && !readOnly) throw new Error(`tool ${name} changes things, so it cannot ask every node at once (untargeted: 'crew')`);
    for (const [arg, kind] of Object.entries(route.targets)) if (kind === 'run' || kind === 'request') this.idKeys.set(arg, kind);
    if (route.sessions === 'lists' && !this.listing) {
      this.listing = name;
      // Nodes that came up before any server registered its tools (serve --no-stdio) are adopted now.
      for (const link of this.opts.links.values()) if (link.state === 'up') void this.adopt(link);
    }
    return { name, route, readOnly };
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

  private async route(tool: Tool, all: Args, extra: Extra, local: LocalCall, deps: CallRecorder): Promise<CallToolResult> {
    await this.ready();
    const { node, ...args } = all;
    const { route } = tool;
    let target: Target;
    try {
      target = await this.placement.target(tool.name, route, tool.readOnly, node, args);
      if (route.sessions && typeof route.sessions === 'object' && 'creates' in route.sessions) {
        await this.placement.checkNewSessionName(target.kind === 'node' ? target.node : LOCAL_NODE, args[route.sessions.creates]);
      }
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      return recordCall(deps, { tool: tool.name, args: all, outcome: 'refused', ms: 0, reason: e.message }, failure(e.message));
    }
    if (target.kind === 'local') return local(stripNode(LOCAL_NODE, args) as Args);
    if (target.kind === 'node') {
      return (await this.onNode(target.node, tool, args, extra, nodeCallLimit({ readOnly: tool.readOnly, waits: route.waits }), deps)).r;
    }
    return this.everywhere(tool, args, extra, local, deps);
  }

  /** One call on one node, as the front shows it; recorded in the front's audit log. At `limitMs` it is given up on. */
  private async onNode(node: string, tool: Tool, args: Args, extra: Extra, limitMs: number, deps: CallRecorder): Promise<NodeAnswer> {
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
        link.call(tool.name, forwarded, {
          timeoutMs: limitMs,
          onprogress:
            token === undefined
              ? undefined
              : (p) => void extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, ...p } }).catch(() => undefined),
        }),
        limitMs,
      );
      if (r === TIMED_OUT) throw new NodeTimeoutError(`node ${node}: ${tool.name} did not answer within ${seconds(limitMs)}`);
      if (r.isError) {
        outcome = 'refused';
        reason = resultText(r);
        answer = { r: failure(`node ${node}: ${reason}`) };
      } else {
        const structured = { ...(qualifyResult(node, r.structuredContent ?? {}) as Args), node };
        await this.learn(node, tool.route, forwarded, r.structuredContent ?? {}, false);
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
    const r = await recordCall(deps, { tool: tool.name, args: { ...args, node }, outcome, ms: Date.now() - started, reason }, answer.r);
    return { ...answer, r };
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
  private async everywhere(tool: Tool, args: Args, extra: Extra, local: LocalCall, deps: CallRecorder): Promise<CallToolResult> {
    const names = [LOCAL_NODE, ...this.opts.links.keys()];
    const answers = await Promise.all(
      names.map(async (n): Promise<NodeAnswer & { node: string }> => {
        if (n === LOCAL_NODE) return { node: n, r: await local(args) };
        return { node: n, ...(await this.onNode(n, tool, args, { ...extra, _meta: undefined }, this.readTimeout, deps)) };
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
      if (node !== LOCAL_NODE && tool.route.sessions === 'lists') await this.learn(node, tool.route, args, structured, true);
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
    if (nodes.every((n) => !n.ok)) return failure(`${tool.name} failed on every node: ${nodes.map((n) => `${n.node}: ${n.error}`).join('; ')}`);
    return text({ ...merged, nodes });
  }

  /**
   * Remembers where sessions and other ids live, from what a node answered: for that node
   * only. Ids are the values of the arguments tools declare as run or request targets;
   * sessions (entries with session_id, name and root) come only from tool results, never
   * from a log message; an id another place already holds stays there.
   */
  private async learn(node: string, route: Route | undefined, args: Args, structured: Args, whole: boolean): Promise<void> {
    const sessions: { id: string; name: string }[] = [];
    const visit = (v: unknown, key: string): void => {
      const kind = this.idKeys.get(key);
      if (kind && typeof v === 'string' && !this.map.rememberId(kind, v, node))
        this.opts.log.warn('node named an id another node holds; ignored', { node, key });
      if (Array.isArray(v)) v.forEach((x) => visit(x, key));
      else if (v && typeof v === 'object') {
        const o = v as Args;
        if (route && typeof o.session_id === 'string' && typeof o.name === 'string' && typeof o.root === 'string')
          sessions.push({ id: o.session_id, name: o.name });
        for (const [k, x] of Object.entries(o)) visit(x, k);
      }
    };
    visit(structured, '');
    const deletes = route?.sessions && typeof route.sessions === 'object' && 'deletes' in route.sessions ? args[route.sessions.deletes] : undefined;
    try {
      if (typeof deletes === 'string') await this.map.forget(node, deletes);
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
    // A log message is not a tool result: it can name a request id of this node, never a session.
    void this.learn(node, undefined, {}, body, false);
    for (const server of this.servers) {
      if (!server.isConnected()) continue;
      void server.sendLoggingMessage({ level, ...(logger ? { logger } : {}), data: { ...body, node } }).catch(() => undefined);
    }
  }

  /** After a node (re)connects: its sessions are the crew's again (a restarted front adopts them). */
  async adopt(link: NodeLink): Promise<void> {
    await this.ready();
    const listing = this.listing;
    if (!listing) return;
    try {
      const r = await link.call(listing, {}, { timeoutMs: this.readTimeout });
      if (!r.isError) await this.learn(link.name, { targets: {}, untargeted: 'crew', sessions: 'lists' }, {}, (r.structuredContent ?? {}) as Args, true);
    } catch (e) {
      this.opts.log.info('node adopt failed', { node: link.name, error: (e as Error).message });
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
