import { createHash } from 'node:crypto';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Context } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import type { StatusChange, SessionStatusView } from '../../supervisor/supervisor.js';
import type { ToolDeps } from '../tool-kit.js';
import { redactValue } from '../../audit/redact.js';
import type { InProcessClient } from './in-process.js';

const LOOK_MS = 1000;
const SCREEN_MS = 700;
const KEEPALIVE_MS = 15_000;

/** One page's open event stream: what the feed writes to, until the page goes or the server closes. */
class EventStream {
  readonly done: Promise<void>;
  private finish!: () => void;
  private ended = false;

  constructor(private readonly sse: SSEStreamingApi) {
    this.done = new Promise((resolve) => (this.finish = resolve));
    sse.onAbort(() => this.end());
    if (sse.aborted) this.end();
  }

  send(event: string, data: unknown): void {
    if (!this.ended) void this.sse.writeSSE({ event, data: JSON.stringify(data) });
  }

  keepAlive(): void {
    if (!this.ended) void this.sse.write(': keep-alive\n\n');
  }

  end(): void {
    this.ended = true;
    this.finish();
  }
}

/** A Server-Sent Events response (Hono's streamSSE) that stays open until `use`'s stream ends. */
function eventStream(c: Context, use: (stream: EventStream) => void | Promise<void>): Response {
  c.header('x-accel-buffering', 'no');
  return streamSSE(c, async (sse) => {
    await sse.write('retry: 2000\n\n');
    const stream = new EventStream(sse);
    await use(stream);
    await stream.done;
  });
}

const fingerprint = (v: unknown): string => createHash('sha256').update(JSON.stringify(v)).digest('hex');
const messageOf = (r: CallToolResult): string => r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');

type SessionView = SessionStatusView | { session_id: string; name: string; root: string; error: string };

/**
 * The dashboard's live view, pushed over Server-Sent Events. Status changes come from the
 * supervisor's onStatusChange and go out at once; while a page is open, the feed looks at
 * each session once a second (one terminal listing per session, as
 * get_session_status does) and sends the whole picture only when it changed. With no page
 * open, it does nothing. What it shows is read through the registered tools (list_sessions,
 * get_session_status, get_agent_output) over the in-process MCP client, as the REST mirror
 * does: a front with nodes routes those calls, so the page sees the agents the MCP clients
 * see, wherever they live.
 */
export class LiveFeed {
  private readonly clients = new Set<EventStream>();
  private readonly screens = new Set<EventStream>();
  private timer?: NodeJS.Timeout;
  private keepalive?: NodeJS.Timeout;
  private unlisten?: () => void;
  private last = '';
  private looking = false;
  private again = false;
  private latest?: unknown;

  constructor(
    private readonly deps: ToolDeps,
    private readonly tools: InProcessClient,
  ) {}

  /** GET /api/events: the live view, for as long as the page keeps it open. */
  add(c: Context): Response {
    return eventStream(c, (stream) => {
      this.clients.add(stream);
      void stream.done.then(() => {
        this.clients.delete(stream);
        if (!this.clients.size) this.stop();
      });
      if (this.latest) stream.send('snapshot', this.latest);
      if (this.clients.size === 1) void this.start();
      else void this.look();
    });
  }

  private async start(): Promise<void> {
    await this.deps.ready;
    if (!this.clients.size || this.timer) return;
    const unStatus = this.deps.supervisor.onStatusChange((change: StatusChange) => {
      this.broadcast('status', { ...change, at: new Date().toISOString() });
      void this.look();
    });
    // An agent needs a person: the page raises a browser notification (dashboard/alerts.js), once per event.
    const unNotice = this.deps.supervisor.onNotice?.((n) => this.broadcast('notice', redactValue({ ...n, at: new Date().toISOString() })));
    this.unlisten = () => {
      unStatus();
      unNotice?.();
    };
    this.timer = setInterval(() => void this.look(), LOOK_MS).unref();
    this.keepalive = setInterval(() => this.clients.forEach((c) => c.keepAlive()), KEEPALIVE_MS).unref();
    await this.look();
  }

  private stop(): void {
    clearInterval(this.timer);
    clearInterval(this.keepalive);
    this.timer = this.keepalive = undefined;
    this.unlisten?.();
    this.unlisten = undefined;
    this.last = '';
  }

  /** One look at every session; a look asked for while one runs runs right after it. */
  async look(): Promise<void> {
    if (this.looking) {
      this.again = true;
      return;
    }
    this.looking = true;
    try {
      do {
        this.again = false;
        const snapshot = await this.snapshot();
        const fp = fingerprint(snapshot.sessions);
        if (fp !== this.last) {
          this.last = fp;
          this.latest = snapshot;
          this.broadcast('snapshot', snapshot);
        }
      } while (this.again && this.clients.size);
    } catch (e) {
      this.deps.log.warn('dashboard feed: look failed', { error: (e as Error).message });
    } finally {
      this.looking = false;
    }
  }

  private async snapshot(): Promise<{ at: string; sessions: SessionView[] }> {
    const listed = await this.tools.callTool('list_sessions', {});
    if (listed.isError) throw new Error(messageOf(listed));
    const { sessions } = listed.structuredContent as { sessions: { session_id: string; name: string; root: string }[] };
    const views = await Promise.all(
      sessions.map(async (s): Promise<SessionView> => {
        const r = await this.tools.callTool('get_session_status', { session: s.session_id });
        return r.isError
          ? { session_id: s.session_id, name: s.name, root: s.root, error: messageOf(r) }
          : (r.structuredContent as unknown as SessionStatusView);
      }),
    );
    return { at: new Date().toISOString(), sessions: views };
  }

  private broadcast(event: string, data: unknown): void {
    for (const c of this.clients) c.send(event, data);
  }

  /** One agent's terminal, sent whenever it changes, while the page shows it. */
  screen(c: Context, agent: string): Response {
    return eventStream(c, (stream) => this.watchScreen(stream, agent));
  }

  private async watchScreen(stream: EventStream, agent: string): Promise<void> {
    this.screens.add(stream);
    void stream.done.then(() => this.screens.delete(stream));
    await this.deps.ready;
    let last = '';
    let stopped = false;
    const push = async (): Promise<void> => {
      try {
        const r = await this.tools.callTool('get_agent_output', { agent, lines: 200 });
        if (r.isError) throw new Error(messageOf(r));
        const out = r.structuredContent as { screen: string; note?: string; last_reply?: string };
        const fp = fingerprint([out.screen, out.note]);
        if (fp !== last && !stopped) {
          last = fp;
          stream.send('screen', { agent, screen: out.screen, note: out.note, last_reply: out.last_reply });
        }
      } catch (e) {
        if (!stopped) stream.send('gone', { agent, error: (e as Error).message });
      }
    };
    const timer = setInterval(() => void push(), SCREEN_MS).unref();
    const unlisten = this.deps.supervisor.onStatusChange((c) => c.agent === agent && void push());
    void stream.done.then(() => {
      stopped = true;
      clearInterval(timer);
      unlisten();
    });
    await push();
  }

  close(): void {
    for (const c of this.clients) c.end();
    for (const s of this.screens) s.end();
    this.screens.clear();
    this.clients.clear();
    this.stop();
  }
}
