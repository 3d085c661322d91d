import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { toolCallEvent, type AuditLog, type AuditOutcome } from '../../audit/audit-log.js';
import type { Logger } from '../../audit/logger.js';
import { UserError } from '../../supervisor/errors.js';
import type { Supervisor } from '../../supervisor/supervisor.js';
import { AGENT_HANDLERS } from './handlers.js';
import { AGENT_METHODS, MAX_REQUEST_BYTES, requestSchema, UNAUDITED_METHODS, type AgentMethod, type AgentResponse } from './protocol.js';

export interface AgentSocketDeps {
  path: string;
  supervisor: Supervisor;
  log: Logger;
  audit?: Pick<AuditLog, 'append'>;
}

/** A connection idle this long is closed (agent-mcp opens one per call). */
const IDLE_MS = 5 * 60_000;
/** While another live tabcrew serves the socket, this one looks again this often to take over when it ends. */
const TAKE_OVER_MS = 5000;
/** Unix socket paths are limited to 108 bytes (104 on macOS). */
const MAX_PATH_BYTES = 103;

/**
 * The supervisor's local socket for agents (`tabcrew agent-mcp`): JSON lines, one request and
 * one response each. Only the user can connect (0600, in the 0700 runtime dir); every request
 * still proves which agent it speaks for (name + secret, checked by the supervisor first).
 */
export class AgentSocket {
  private server?: Server;
  private ino?: number;
  private retry?: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly deps: AgentSocketDeps) {}

  /** Listens, or — while another tabcrew on the same runtime dir serves it — waits to take over. */
  async start(): Promise<'listening' | 'served_elsewhere'> {
    if (Buffer.byteLength(this.deps.path) > MAX_PATH_BYTES) {
      throw new Error(`the agent socket path ${this.deps.path} is longer than ${MAX_PATH_BYTES} bytes; pass a shorter --runtime-dir.`);
    }
    await mkdir(dirname(this.deps.path), { recursive: true, mode: 0o700 });
    if (await this.tryListen()) return 'listening';
    this.retry = setInterval(() => {
      void this.tryListen().then((ok) => {
        if (ok) clearInterval(this.retry);
      });
    }, TAKE_OVER_MS);
    this.retry.unref();
    return 'served_elsewhere';
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.retry);
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    // Only our own socket file: another tabcrew may have replaced it.
    const st = await lstat(this.deps.path).catch(() => undefined);
    if (st && st.ino === this.ino) await unlink(this.deps.path).catch(() => undefined);
  }

  private async tryListen(): Promise<boolean> {
    if (this.closed || this.server) return !!this.server;
    if (await isLive(this.deps.path)) return false;
    await unlink(this.deps.path).catch(() => undefined);
    const server = createServer((conn) => this.serve(conn));
    const ok = await new Promise<boolean>((resolve) => {
      server.once('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'EADDRINUSE') resolve(false);
        else {
          this.deps.log.error('agent socket', { error: e.message });
          resolve(false);
        }
      });
      server.listen(this.deps.path, () => resolve(true));
    });
    if (!ok) return false;
    await chmod(this.deps.path, 0o600);
    this.ino = (await lstat(this.deps.path)).ino;
    server.on('error', (e) => this.deps.log.error('agent socket', { error: e.message }));
    this.server = server;
    this.deps.log.info('agent socket listening', { path: this.deps.path });
    return true;
  }

  private serve(conn: Socket): void {
    conn.setTimeout(IDLE_MS, () => conn.destroy());
    conn.on('error', () => undefined);
    let buffer = Buffer.alloc(0);
    let queue = Promise.resolve();
    conn.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      let nl: number;
      while ((nl = buffer.indexOf(0x0a)) >= 0) {
        const line = buffer.subarray(0, nl).toString('utf8');
        buffer = buffer.subarray(nl + 1);
        queue = queue.then(async () => {
          const response = await this.answer(line);
          if (!conn.destroyed) conn.write(JSON.stringify(response) + '\n');
        });
      }
      if (buffer.length > MAX_REQUEST_BYTES) {
        conn.end(JSON.stringify({ id: 0, ok: false, error: `request larger than ${MAX_REQUEST_BYTES} bytes; send less.` }) + '\n');
        conn.destroy();
      }
    });
  }

  /** Authenticates first, validates second, then hands the call to the supervisor; audited either way. */
  async answer(line: string): Promise<AgentResponse> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return { id: 0, ok: false, error: 'the request is not JSON: one JSON object per line.' };
    }
    const req = requestSchema.safeParse(parsed);
    if (!req.success) return { id: 0, ok: false, error: `bad request: ${req.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` };
    const { id, agent, secret, method, params } = req.data;
    const started = Date.now();
    let outcome: AuditOutcome = 'ok';
    let response: AgentResponse;
    try {
      const caller = await this.deps.supervisor.desk.authenticate(agent, secret);
      // Own properties only: "toString" or "constructor" is no method, not Object.prototype's.
      if (!Object.hasOwn(AGENT_METHODS, method) || !Object.hasOwn(AGENT_HANDLERS, method))
        throw new UserError(`unknown method "${method}"; methods: ${Object.keys(AGENT_METHODS).join(', ')}.`);
      const m = method as AgentMethod;
      const p = AGENT_METHODS[m].safeParse(params);
      if (!p.success) throw new UserError(`${method}: ${p.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ')}`);
      const handler = AGENT_HANDLERS[m] as (d: typeof this.deps.supervisor.desk, c: typeof caller, p: unknown, s: Supervisor) => Promise<object>;
      response = { id, ok: true, result: { ...(await handler(this.deps.supervisor.desk, caller, p.data, this.deps.supervisor)) } };
    } catch (e) {
      const err = e as Error;
      outcome = e instanceof UserError ? 'refused' : 'failed';
      if (outcome === 'failed') this.deps.log.error('agent call failed', { agent, method, error: err.message, stack: err.stack });
      response = { id, ok: false, error: outcome === 'failed' ? `${method} failed: ${err.message}` : err.message };
    }
    const ms = Date.now() - started;
    if (UNAUDITED_METHODS.has(method) && outcome !== 'failed') return response;
    this.deps.log.info('agent call', { agent, method, outcome, ms });
    try {
      await this.deps.audit?.append(
        toolCallEvent({
          tool: `agent.${method}`,
          caller: `agent-mcp:${agent}`,
          args: params,
          outcome,
          ms,
          agent,
          reason: response.ok ? undefined : response.error,
        }),
      );
    } catch (e) {
      return { id, ok: false, error: `${method} ran (${outcome}) but could not be recorded in the audit log: ${(e as Error).message}.` };
    }
    return response;
  }
}

function isLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}
