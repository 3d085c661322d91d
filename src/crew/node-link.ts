import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
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
import type { NodeSpec } from './node-spec.js';
import { sshArgv, sshFix, type SshOptions } from './ssh-argv.js';
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
const STDERR_KEEP = 4000;

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

/**
 * The front's MCP client session with one node: `ssh … <node command>` on stdio. The node's
 * tabcrew keeps its own state, audit, hooks and recovery; this only carries tool calls.
 */
export class NodeLink {
  state: LinkState = 'down';
  version?: string;
  private verdict?: VersionVerdict;
  private client?: Client;
  private stderr = '';
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
  ) {}

  get name(): string {
    return this.spec.name;
  }

  url(): string {
    return `ssh://${this.spec.user ? `${this.spec.user}@` : ''}${this.spec.host}${this.spec.port ? `:${this.spec.port}` : ''}`;
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
    if (this.closed) return;
    this.set('connecting');
    this.stderr = '';
    const argv = sshArgv(this.spec, this.opts.ssh, [this.spec.command ?? 'tabcrew serve']);
    const transport = new StdioClientTransport({
      command: this.opts.ssh.ssh ?? 'ssh',
      args: argv,
      // ssh needs the agent socket to use the user's keys; nothing else of ours goes to it.
      env: { ...getDefaultEnvironment(), ...(process.env.SSH_AUTH_SOCK ? { SSH_AUTH_SOCK: process.env.SSH_AUTH_SOCK } : {}) },
      stderr: 'pipe',
    });
    transport.stderr?.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-STDERR_KEEP);
    });
    const client = new Client({ name: 'tabcrew-front', version: this.opts.frontVersion }, { capabilities: {} });
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => this.opts.onLog?.(this, n.params));
    let up = false;
    client.onclose = () => {
      if (this.client === client) this.client = undefined;
      if (!up || this.closed) return;
      up = false;
      this.fail(`connection to ${this.name} closed`);
      this.opts.log?.info('node down', { node: this.name, error: this.lastError });
      this.scheduleReconnect();
    };
    try {
      await client.connect(transport, { timeout: HANDSHAKE_TIMEOUT_MS });
    } catch (e) {
      await client.close().catch(() => undefined);
      this.fail((e as Error).message);
      this.opts.log?.info('node connect failed', { node: this.name, error: this.lastError });
      this.scheduleReconnect();
      return;
    }
    const info = client.getServerVersion();
    this.version = info?.version;
    this.verdict = compareVersions(this.opts.frontVersion, info?.name, info?.version);
    if (!this.verdict.compatible) {
      this.lastError = this.verdict.note;
      this.fix = `install tabcrew ${this.opts.frontVersion} on ${this.name} (the front and its nodes must run compatible versions), or run the front at ${info?.version ?? 'the node version'}`;
      this.set('refused');
      await client.close().catch(() => undefined);
      return;
    }
    this.client = client;
    up = true;
    // From here on, what ssh prints is about this connection's end (the node's own stderr lines are skipped below).
    this.stderr = '';
    this.attempt = 0;
    this.lastError = undefined;
    this.fix = undefined;
    this.set('up');
    this.opts.log?.info('node up', { node: this.name, version: this.version });
    this.opts.onUp?.(this);
  }

  /** ssh's own words, first: they say what was wrong (host key, auth, network). */
  private fail(fallback: string): void {
    const words = this.stderr
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !/^@+$/.test(l) && !/^Warning: Permanently added/.test(l) && !l.startsWith('tabcrew:'));
    this.lastError = words.length ? `${words.slice(0, 3).join(' ')}${fallback ? ` (${fallback})` : ''}` : fallback;
    this.fix = sshFix(this.spec, this.stderr || fallback);
    this.set('down');
  }

  private scheduleReconnect(): void {
    if (this.closed || this.opts.reconnect === false || this.timer) return;
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
      throw new NodeDownError(`node ${this.name}: ${name} did not complete: ${(e as Error).message}. ${this.fix ?? sshFix(this.spec, this.stderr)}`);
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

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    const c = this.client;
    this.client = undefined;
    await c?.close().catch(() => undefined);
  }
}
