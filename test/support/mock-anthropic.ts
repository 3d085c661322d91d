/**
 * A local stand-in for the Anthropic Messages API, good enough to drive the real
 * Claude Code CLI (verified on 2.1.197) in tests without network access.
 *
 * - `POST /v1/messages` with `stream: true` answers with SSE (message_start,
 *   content_block_start, content_block_delta, content_block_stop, message_delta with
 *   usage, message_stop); with `stream: false` (or absent) a single JSON message.
 * - `POST /v1/messages/count_tokens` answers `{"input_tokens": N}`.
 * - every other request (HEAD /, GET ...) gets 200 `{}`.
 *
 * Side requests vs main conversation (observed on 2.1.197): besides the agent's own
 * turns, Claude Code sends helper calls to the same endpoint. Seen: session-title
 * generation right after the first prompt when no `--name` was given (its user message
 * is `<session>\n…prompt…\n</session>\n\nWrite the title…`), also with
 * CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1; plus `HEAD /` connectivity checks. Side
 * calls carry no `tools` (absent or empty); every main-conversation request carries the
 * full tool list (Bash, Read, Edit, …), the `x-claude-code-session-id` header and, in
 * its system blocks, any `--append-system-prompt` text. `conversationRequests()` uses
 * "has a non-empty `tools` array" as the rule.
 *
 * The user message of a main-conversation request is an array of content blocks. On the
 * first turn Claude Code puts a `<system-reminder>…</system-reminder>` block (date,
 * context) before the typed text; `lastUserText()` leaves such blocks out, so it returns
 * the typed text byte for byte. Hook output (SessionStart / UserPromptSubmit stdout)
 * arrives in a separate `role: "system"` message, not in the user message.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';

export interface RecordedRequest {
  /** Arrival order, from 0. */
  seq: number;
  method: string;
  /** Path including query string, e.g. `/v1/messages?beta=true`. */
  path: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body, or undefined when the body was empty / not JSON. */
  body: any;
  rawBody: string;
  receivedAt: number;
}

export interface MockUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

/** A richer reply than plain text: lets a test provoke tool use. */
export interface MockReplySpec {
  text?: string;
  /** Emit a `tool_use` block after the text (stop_reason becomes `tool_use`). */
  toolUse?: { name: string; input: Record<string, unknown>; id?: string };
  usage?: Partial<MockUsage>;
  /** Wait this long after `message_start` before streaming the content (keeps the agent busy). */
  delayMs?: number;
}

/**
 * How the mock refuses `POST /v1/messages` while set (MockAnthropic.setRefusal), with the
 * shapes of the real API (observed on Claude Code 2.1.332, docs/claude-code-facts.md):
 * - `usage_limit`: a subscription's usage limit: 429 with `anthropic-ratelimit-unified-status:
 *   rejected`, `-unified-reset: <epoch s>` and `-unified-representative-claim` (default
 *   `five_hour`). Claude Code reads it only under subscription-style auth (a JWT-shaped
 *   ANTHROPIC_AUTH_TOKEN, no API key).
 * - `rate_limit`: a plain 429 `rate_limit_error`, with `retry-after: <s>` when given.
 */
export type MockRefusal = { kind: 'usage_limit'; resetsAt: number; claim?: string } | { kind: 'rate_limit'; retryAfterS?: number };

/**
 * Called for EVERY `POST /v1/messages`, side requests included: a reply queue should
 * only advance on `isConversationRequest(req)`.
 */
export type ReplyFn = (req: RecordedRequest) => string | MockReplySpec;

export interface MockAnthropic {
  /** Base URL to give Claude Code as ANTHROPIC_BASE_URL (no trailing slash). */
  url: string;
  /** Every request received, in arrival order. */
  requests: RecordedRequest[];
  setReply(fn: ReplyFn): void;
  /** Refuse every `POST /v1/messages` this way from now on; undefined answers again. */
  setRefusal(refusal: MockRefusal | undefined): void;
  /** How many `POST /v1/messages` were refused so far. */
  refused(): number;
  /**
   * Only `POST /v1/messages` requests of agents' main conversations (see file doc),
   * optionally of one session (header `x-claude-code-session-id`).
   */
  conversationRequests(sessionId?: string): RecordedRequest[];
  /** Text of the final user message as received, minus `<system-reminder>` blocks (see lastUserText). */
  lastUserText(req: RecordedRequest): string | undefined;
  /** Resolves with the first recorded request matching `pred` (past or future). */
  waitFor(pred: (req: RecordedRequest) => boolean, timeoutMs: number): Promise<RecordedRequest>;
  close(): Promise<void>;
}

/** Usage reported for every reply unless the reply overrides it. */
export const DEFAULT_USAGE: MockUsage = {
  input_tokens: 100,
  output_tokens: 20,
  cache_creation_input_tokens: 10,
  cache_read_input_tokens: 5,
};

export const DEFAULT_REPLY = 'OK from mock.';

/** True for a main-conversation request of the agent (not a side request). */
export function isConversationRequest(req: RecordedRequest): boolean {
  return req.method === 'POST' && /^\/v1\/messages(\?|$)/.test(req.path) && Array.isArray(req.body?.tools) && req.body.tools.length > 0;
}

function lastUserMessage(req: RecordedRequest): any | undefined {
  const msgs: any[] | undefined = req.body?.messages;
  if (!Array.isArray(msgs)) return undefined;
  for (let i = msgs.length - 1; i >= 0; i--) if (msgs[i]?.role === 'user') return msgs[i];
  return undefined;
}

/** Claude Code's session id of a request (header `x-claude-code-session-id`, 2.1.197). */
export function sessionIdOf(req: RecordedRequest): string | undefined {
  const h = req.headers['x-claude-code-session-id'];
  return Array.isArray(h) ? h[0] : h;
}

/** `content` of the last `role: "user"` message, untouched (string or content blocks). */
export function lastUserContent(req: RecordedRequest): unknown {
  return lastUserMessage(req)?.content;
}

const REMINDER_BLOCK = /^<system-reminder>[\s\S]*<\/system-reminder>\s*$/;

/**
 * Text of the last `role: "user"` message as received: a string content as is, or its
 * text blocks joined with '' — minus whole `<system-reminder>` blocks that Claude Code
 * adds before the typed text (see the file comment). Undefined when there is none.
 */
export function lastUserText(req: RecordedRequest): string | undefined {
  const m = lastUserMessage(req);
  if (!m) return undefined;
  if (typeof m.content === 'string') return m.content;
  if (!Array.isArray(m.content)) return undefined;
  return m.content
    .filter((b: any) => b?.type === 'text' && typeof b.text === 'string' && !REMINDER_BLOCK.test(b.text))
    .map((b: any) => b.text as string)
    .join('');
}

/** The tool_result block of the last user message (Claude Code ran a tool the mock asked for), as text. */
export function toolResultOf(req: RecordedRequest): { is_error: boolean; text: string } | undefined {
  const content = lastUserContent(req);
  if (!Array.isArray(content)) return undefined;
  const block = content.find((b: any) => b?.type === 'tool_result');
  if (!block) return undefined;
  const text = typeof block.content === 'string' ? block.content : (block.content ?? []).map((c: any) => c.text ?? '').join('');
  return { is_error: !!block.is_error, text };
}

function sse(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

let idCounter = 0;

export interface MockAnthropicOptions {
  reply?: ReplyFn;
  /** Port to listen on (127.0.0.1); default: any free port. */
  port?: number;
}

export async function startMockAnthropic(opts: MockAnthropicOptions = {}): Promise<MockAnthropic> {
  let reply: ReplyFn = opts.reply ?? (() => DEFAULT_REPLY);
  let refusal: MockRefusal | undefined;
  let refusedCount = 0;
  const requests: RecordedRequest[] = [];
  const waiters: { pred: (r: RecordedRequest) => boolean; resolve: (r: RecordedRequest) => void }[] = [];

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      let body: any;
      try {
        body = rawBody ? JSON.parse(rawBody) : undefined;
      } catch {
        body = undefined;
      }
      const rec: RecordedRequest = {
        seq: requests.length,
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        headers: req.headers,
        body,
        rawBody,
        receivedAt: Date.now(),
      };
      requests.push(rec);
      for (const w of [...waiters]) {
        if (w.pred(rec)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(rec);
        }
      }
      try {
        respond(rec, res);
      } catch (err) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ type: 'error', error: { type: 'api_error', message: String(err) } }));
      }
    });
  });

  function respond(rec: RecordedRequest, res: import('node:http').ServerResponse): void {
    const path = rec.path.split('?')[0];
    if (rec.method === 'POST' && path === '/v1/messages/count_tokens') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ input_tokens: DEFAULT_USAGE.input_tokens }));
      return;
    }
    if (!(rec.method === 'POST' && path === '/v1/messages')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
      return;
    }
    if (refusal) {
      refusedCount++;
      refuse(refusal, res);
      return;
    }
    const r = reply(rec);
    const spec: MockReplySpec = typeof r === 'string' ? { text: r } : r;
    const usage: MockUsage = { ...DEFAULT_USAGE, ...spec.usage };
    const model: string = rec.body?.model ?? 'claude-mock';
    // Unique across processes: Claude Code keys transcript lines by message id / request id.
    const uniq = `${++idCounter}_${randomBytes(6).toString('hex')}`;
    const msgId = `msg_mock_${uniq}`;
    const blocks: any[] = [];
    if (spec.text !== undefined && spec.text !== '') blocks.push({ type: 'text', text: spec.text });
    if (spec.toolUse) {
      blocks.push({
        type: 'tool_use',
        id: spec.toolUse.id ?? `toolu_mock_${uniq}`,
        name: spec.toolUse.name,
        input: spec.toolUse.input,
      });
    }
    if (blocks.length === 0) blocks.push({ type: 'text', text: '' });
    const stopReason = spec.toolUse ? 'tool_use' : 'end_turn';
    const headers = { 'request-id': `req_mock_${uniq}` };

    if (rec.body?.stream !== true) {
      res.writeHead(200, { 'content-type': 'application/json', ...headers });
      res.end(
        JSON.stringify({
          id: msgId,
          type: 'message',
          role: 'assistant',
          model,
          content: blocks,
          stop_reason: stopReason,
          stop_sequence: null,
          usage,
        }),
      );
      return;
    }

    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      ...headers,
    });
    res.write(
      sse('message_start', {
        type: 'message_start',
        message: {
          id: msgId,
          type: 'message',
          role: 'assistant',
          model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: {
            input_tokens: usage.input_tokens,
            output_tokens: 1,
            cache_creation_input_tokens: usage.cache_creation_input_tokens,
            cache_read_input_tokens: usage.cache_read_input_tokens,
          },
        },
      }),
    );
    let out = '';
    blocks.forEach((b, index) => {
      if (b.type === 'text') {
        out += sse('content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
        out += sse('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: b.text } });
      } else {
        out += sse('content_block_start', {
          type: 'content_block_start',
          index,
          content_block: { type: 'tool_use', id: b.id, name: b.name, input: {} },
        });
        out += sse('content_block_delta', {
          type: 'content_block_delta',
          index,
          delta: { type: 'input_json_delta', partial_json: JSON.stringify(b.input) },
        });
      }
      out += sse('content_block_stop', { type: 'content_block_stop', index });
    });
    out += sse('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: stopReason, stop_sequence: null },
      usage: { output_tokens: usage.output_tokens },
    });
    out += sse('message_stop', { type: 'message_stop' });
    if (spec.delayMs && spec.delayMs > 0) {
      const timer = setTimeout(() => res.end(out), spec.delayMs);
      res.on('close', () => clearTimeout(timer));
    } else {
      res.end(out);
    }
  }

  function refuse(r: MockRefusal, res: import('node:http').ServerResponse): void {
    const headers: Record<string, string> = { 'content-type': 'application/json', 'request-id': `req_mock_refused_${++idCounter}` };
    let message = 'Number of requests has exceeded your rate limit. Please try again later.';
    if (r.kind === 'usage_limit') {
      headers['anthropic-ratelimit-unified-status'] = 'rejected';
      headers['anthropic-ratelimit-unified-reset'] = String(r.resetsAt);
      headers['anthropic-ratelimit-unified-representative-claim'] = r.claim ?? 'five_hour';
      message = "This request would exceed your account's rate limit. Please try again later.";
    } else if (r.retryAfterS !== undefined) {
      headers['retry-after'] = String(r.retryAfterS);
    }
    res.writeHead(429, headers);
    res.end(JSON.stringify({ type: 'error', error: { type: 'rate_limit_error', message } }));
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    setReply(fn: ReplyFn) {
      reply = fn;
    },
    setRefusal(r) {
      refusal = r;
    },
    refused: () => refusedCount,
    conversationRequests(sessionId?: string) {
      return requests.filter((r) => isConversationRequest(r) && (sessionId === undefined || sessionIdOf(r) === sessionId));
    },
    lastUserText,
    waitFor(pred, timeoutMs) {
      const found = requests.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise<RecordedRequest>((resolve, reject) => {
        const w = {
          pred,
          resolve: (r: RecordedRequest) => {
            clearTimeout(timer);
            resolve(r);
          },
        };
        const timer = setTimeout(() => {
          const i = waiters.indexOf(w);
          if (i >= 0) waiters.splice(i, 1);
          reject(new Error(`mock-anthropic: no matching request within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.push(w);
      });
    },
    close() {
      return new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      });
    },
  };
}
