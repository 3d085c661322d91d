import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  ErrorCode,
  LoggingMessageNotificationSchema,
  McpError,
  type CallToolResult,
  type LoggingMessageNotification,
} from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../audit/logger.js';
import { UserError } from '../supervisor/errors.js';
import { seconds } from './call-limits.js';
import { HttpTransport } from './http-transport.js';
import type { LinkTransport } from './link-transport.js';
import { isHttpNode, type NodeSpec } from './node-spec.js';
import type { SshOptions } from './ssh-argv.js';
import { SshTransport } from './ssh-transport.js';
import { compareVersions, type VersionVerdict } from './version-skew.js';

export type LinkState = 'connecting' | 'up' | 'down' | 'refused';

export interface NodeReport {
  node: string;
  state: LinkState;
  url: string;
  version?: string;
  version_note?: string;
  last_error?: string;
  fix?: string;
  since: string;
}

/** A call to a node that cannot take it now: says why and what to do, at once (no waiting for a timeout). */
export class NodeDownError extends UserError {
  override name = 'NodeDownError';
}

/** A node that did not answer within the call's limit: it may still be working on it. */
export class NodeTimeoutError extends NodeDownError {
  override name = 'NodeTimeoutError';
}

const isTimeout = (e: unknown): boolean => e instanceof McpError && e.code === ErrorCode.RequestTimeout;

const BACKOFF_MS = [1000, 2000, 4000, 8000, 15_000, 30_000];
const HANDSHAKE_TIMEOUT_MS = 60_000;

export interface NodeLinkOptions {
  ssh: SshOptions;
  frontVersion: string;
  log?: Logger;
  /** Called after every (re)connection, e.g. to adopt the node's sessions. */
  onUp?: (link: NodeLink) => void;
  /** The node's MCP log messages (status changes, permission requests), for the front's clients. */
  onLog?: (link: NodeLink, params: LoggingMessageNotification['params']) => void;
  /** Keep re-connecting after a drop (the front); a one-shot look (tabcrew nodes) does not. */
  reconnect?: boolean;
}

/** The transport a node spec asks for: ssh stdio, or Streamable HTTP. */
export function transportFor(spec: NodeSpec, ssh: SshOptions): LinkTransport {
  return isHttpNode(spec) ? new HttpTransport(spec) : new SshTransport(spec, ssh);
}

/**
 * The front's MCP client session with one node, over a LinkTransport (`ssh … <node command>`
 * on stdio, or the node's `serve --http`). The node's tabcrew keeps its own state, audit,
 * hooks and recovery; this only carries tool calls.
 */
export class NodeLink {
  state: LinkState = 'down';
  version?: string;
  private verdict?: VersionVerdict;
  private client?: Client;
  private transport?: Transport;
  private readonly link: LinkTransport;
  private heartbeat?: NodeJS.Timeout;
  private retired?: string;
  private lastError?: string;
  private fix?: string;
  private since = new Date().toISOString();
  private attempt = 0;
  private timer?: NodeJS.Timeout;
  private closed = false;
  private connecting?: Promise<void>;

  constructor(
    readonly spec: NodeSpec,
    private readonly opts: NodeLinkOptions,
    link?: LinkTransport,
  ) {
    this.link = link ?? transportFor(spec, opts.ssh);
  }

  get name(): string {
    return this.spec.name;
  }

  url(): string {
    return this.link.url();
  }

  report(): NodeReport {
    return {
      node: this.name,
      state: this.state,
      url: this.url(),
      ...(this.version ? { version: this.version } : {}),
      ...(this.verdict?.note ? { version_note: this.verdict.note } : {}),
      ...(this.lastError ? { last_error: this.lastError } : {}),
      ...(this.fix ? { fix: this.fix } : {}),
      since: this.since,
    };
  }

  private set(state: LinkState): void {
    if (state !== this.state) this.since = new Date().toISOString();
    this.state = state;
  }

  /** Connects once; resolves either way (the outcome is in state/report). */
  connect(): Promise<void> {
    this.connecting ??= this.doConnect().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async doConnect(): Promise<void> {
    if (this.closed || this.retired) return;
    this.set('connecting');
    let transport: Transport;
    try {
      transport = await this.link.open();
    } catch (e) {
      this.fail(e, (e as Error).message);
      this.opts.log?.info('node connect failed', { node: this.name, error: this.lastError });
      this.scheduleReconnect();
      return;
    }
    const client = new Client({ name: 'tabcrew-front', version: this.opts.frontVersion }, { capabilities: {} });
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => this.opts.onLog?.(this, n.params));
    let up = false;
    client.onclose = () => {
      if (this.client === client) this.client = undefined;
      if (!up || this.closed) return;
      up = false;
      this.stopHeartbeat();
      this.fail(undefined, `connection to ${this.name} closed`);
      this.opts.log?.info('node down', { node: this.name, error: this.lastError });
      this.scheduleReconnect();
    };
    try {
      await client.connect(transport, { timeout: HANDSHAKE_TIMEOUT_MS });
    } catch (e) {
      await client.close().catch(() => undefined);
      this.fail(e, (e as Error).message);
      this.opts.log?.info('node connect failed', { node: this.name, error: this.lastError });
      this.scheduleReconnect();
      return;
    }
    if (this.closed || this.retired) {
      await this.link.release?.(transport).catch(() => undefined);
      await client.close().catch(() => undefined);
      return;
    }
    const info = client.getServerVersion();
    this.version = info?.version;
    this.verdict = compareVersions(this.opts.frontVersion, info?.name, info?.version);
    if (!this.verdict.compatible) {
      this.lastError = this.verdict.note;
      this.fix = `install tabcrew ${this.opts.frontVersion} on ${this.name} (the front and its nodes must run compatible versions), or run the front at ${info?.version ?? 'the node version'}`;
      this.set('refused');
      await this.link.release?.(transport).catch(() => undefined);
      await client.close().catch(() => undefined);
      return;
    }
    this.client = client;
    this.transport = transport;
    up = true;
    this.link.connected();
    this.attempt = 0;
    this.lastError = undefined;
    this.fix = undefined;
    this.set('up');
    this.opts.log?.info('node up', { node: this.name, version: this.version });
    if (this.link.heartbeatMs) this.startHeartbeat(client, this.link.heartbeatMs);
    this.opts.onUp?.(this);
  }

  /**
   * For a transport without a connection of its own (HTTP): a ping every interval; one that
   * fails (the node is gone, restarted and forgot our session, refuses the token now) drops
   * the link as a closed ssh channel does, and the reconnects begin.
   */
  private startHeartbeat(client: Client, everyMs: number): void {
    this.stopHeartbeat();
    let asking = false;
    this.heartbeat = setInterval(() => {
      if (this.client !== client) return this.stopHeartbeat();
      if (asking) return;
      asking = true;
      client
        .ping({ timeout: everyMs })
        .then(
          () => undefined,
          (e: unknown) => {
            if (this.client === client && !this.closed) void this.drop(client, e);
          },
        )
        .finally(() => (asking = false));
    }, everyMs);
    this.heartbeat.unref();
  }

  /** One ping out of turn; a failure drops the link. */
  private probe(client: Client): void {
    client.ping({ timeout: this.link.heartbeatMs ?? 5000 }).catch((e: unknown) => {
      if (this.client === client && !this.closed) void this.drop(client, e);
    });
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  /** The link's connection is no good any more: down with the reason, its session ended, reconnects scheduled. */
  private async drop(client: Client, cause: unknown): Promise<void> {
    this.stopHeartbeat();
    const transport = this.transport;
    this.client = undefined;
    this.transport = undefined;
    this.fail(cause, `connection to ${this.name} lost`);
    this.opts.log?.info('node down', { node: this.name, error: this.lastError });
    client.onclose = undefined;
    if (transport) await this.link.release?.(transport).catch(() => undefined);
    await client.close().catch(() => undefined);
    this.scheduleReconnect();
  }

  private fail(cause: unknown, fallback: string): void {
    const t = this.link.trouble(cause, fallback);
    this.lastError = t.error;
    this.fix = t.fix;
    this.set('down');
  }

  private scheduleReconnect(): void {
    if (this.closed || this.retired || this.opts.reconnect === false || this.timer) return;
    const wait = BACKOFF_MS[Math.min(this.attempt++, BACKOFF_MS.length - 1)];
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.connect();
    }, wait);
    this.timer.unref();
  }

  /** Re-connects now instead of at the next backoff step. */
  retryNow(): Promise<void> {
    if (this.state === 'up') return Promise.resolve();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    return this.connect();
  }

  /** One tool call; `timeoutMs` is sized to the tool by the caller (crew/call-limits.ts), and the node is told to stop at it. */
  async call(
    name: string,
    args: Record<string, unknown>,
    opts: { timeoutMs: number; onprogress?: (p: { progress: number; total?: number; message?: string }) => void },
  ): Promise<CallToolResult> {
    const client = this.upClient();
    try {
      return (await client.callTool({ name, arguments: args }, undefined, {
        timeout: opts.timeoutMs,
        maxTotalTimeout: opts.timeoutMs,
        onprogress: opts.onprogress,
      })) as CallToolResult;
    } catch (e) {
      if (isTimeout(e)) throw new NodeTimeoutError(`node ${this.name}: ${name} did not answer within ${seconds(opts.timeoutMs)}`);
      // Over HTTP a failed request is the first sign of a node that went away: look now, not at the next heartbeat.
      if (this.link.heartbeatMs) this.probe(client);
      throw new NodeDownError(`node ${this.name}: ${name} did not complete: ${(e as Error).message}. ${this.fix ?? this.link.trouble(e, '').fix}`);
    }
  }

  /** The node's resources (its own URIs), for the front's listing. */
  async listResources(timeoutMs: number): Promise<{ uri: string; name: string; mimeType?: string }[]> {
    const client = this.upClient();
    const out: { uri: string; name: string; mimeType?: string }[] = [];
    let cursor: string | undefined;
    // Bounded: a node lists a few resources per agent; 20 pages is far past any crew.
    for (let page = 0; page < 20; page++) {
      const r = await client.listResources(cursor ? { cursor } : undefined, { timeout: timeoutMs });
      out.push(...r.resources.map((x) => ({ uri: x.uri, name: x.name, ...(x.mimeType ? { mimeType: x.mimeType } : {}) })));
      cursor = r.nextCursor;
      if (!cursor) break;
    }
    return out;
  }

  async readResource(uri: string, timeoutMs: number): Promise<{ uri: string; mimeType?: string; text?: string; blob?: string }[]> {
    const client = this.upClient();
    try {
      return (await client.readResource({ uri }, { timeout: timeoutMs })).contents as { uri: string; mimeType?: string; text?: string; blob?: string }[];
    } catch (e) {
      if (isTimeout(e)) throw new NodeTimeoutError(`node ${this.name}: reading ${uri} did not answer within ${seconds(timeoutMs)}`);
      throw new NodeDownError(`node ${this.name}: reading ${uri} failed: ${(e as Error).message}`);
    }
  }

  private upClient(): Client {
    if (this.state !== 'up' || !this.client) {
      throw new NodeDownError(
        `node ${this.name} is ${this.state} since ${this.since}${this.lastError ? `: ${this.lastError}` : ''}. ${this.fix ?? ''} (tabcrew nodes shows every node)`.trim(),
      );
    }
    return this.client;
  }

  /**
   * The node is no longer part of the crew (its SRV record went away): down, saying why, and
   * no reconnects until `revive`.
   */
  async retire(reason: string, fix: string): Promise<void> {
    this.retired = reason;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    // Said before the connection closes, so a call it cuts short says why.
    this.lastError = reason;
    this.fix = fix;
    this.set('down');
    await this.disconnect();
  }

  /** A retired node is back (its SRV record returned): connect again. */
  revive(): Promise<void> {
    if (!this.retired) return Promise.resolve();
    this.retired = undefined;
    this.attempt = 0;
    return this.connect();
  }

  get isRetired(): boolean {
    return this.retired !== undefined;
  }

  private async disconnect(): Promise<void> {
    this.stopHeartbeat();
    const c = this.client;
    const t = this.transport;
    this.client = undefined;
    this.transport = undefined;
    if (c) c.onclose = undefined;
    if (t) await this.link.release?.(t).catch(() => undefined);
    await c?.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.disconnect();
  }
}
