/**
 * Reading Claude Code session transcripts (`<configDir>/projects/<encoded-cwd>/<session>.jsonl`).
 * Formats verified against Claude Code 2.1.197 (see docs/claude-code-facts.md).
 *
 * Facts the code relies on:
 * - One API call is written as one `assistant` line per content block (text, tool_use,
 *   thinking), all sharing `message.id` and `requestId` and each carrying the call's
 *   `message.usage`; the usage of the last such line is the one to trust.
 * - A typed prompt is a `user` line whose `message.content` is a string. Other `user`
 *   lines are not prompts: tool results (content blocks of type `tool_result`),
 *   interrupt markers (`[Request interrupted by user…]`), `isMeta` caveats, and the echo
 *   of local slash commands (`<command-name>`, `<local-command-stdout>`, `<bash-stdout>`).
 *   A `!` shell-mode command (`<bash-input>`) does start a model turn and counts as one.
 * - `assistant` lines with `model: "<synthetic>"` are written by Claude Code itself
 *   (e.g. "No response requested." on resume after an interrupt, or API errors with
 *   `isApiErrorMessage: true`).
 * - The file is appended while the agent runs; the last line can be partial. At the time
 *   the Stop hook runs, the final assistant line may not be written yet (observed lag
 *   up to ~20 ms): prefer the Stop hook's `last_assistant_message`, or re-read.
 */
import { open } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { lookAt, type FileLook } from '../util/file-look.js';

export interface UsageTotals {
  input: number;
  output: number;
  cache_read: number;
  cache_creation: number;
}

/** A transcript line as far as we care about it; everything else is left untyped. */
interface Line {
  type?: string;
  isMeta?: boolean;
  isCompactSummary?: boolean;
  requestId?: string;
  uuid?: string;
  isApiErrorMessage?: boolean;
  message?: {
    id?: string;
    role?: string;
    model?: string;
    content?: unknown;
    usage?: Record<string, unknown>;
  };
}

function parseLine(raw: string): Line | undefined {
  const s = raw.trim();
  if (!s || s[0] !== '{') return undefined;
  try {
    const v: unknown = JSON.parse(s);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Line) : undefined;
  } catch {
    return undefined;
  }
}

/** Accepts raw JSONL text, an array of raw lines, or already-parsed objects. */
export type TranscriptInput = string | ReadonlyArray<string | object>;

function toLines(input: TranscriptInput): Line[] {
  const raw: ReadonlyArray<string | object> = typeof input === 'string' ? input.split('\n') : input;
  const out: Line[] = [];
  for (const r of raw) {
    const l = typeof r === 'string' ? parseLine(r) : (r as Line);
    if (l) out.push(l);
  }
  return out;
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function usageKey(l: Line, index: number): string {
  return l.message?.id ?? l.requestId ?? l.uuid ?? `#${index}`;
}

/**
 * Token totals over all assistant lines, each API call counted once (lines sharing a
 * message id / request id: the last one wins).
 */
export function usageTotals(input: TranscriptInput): UsageTotals {
  const perCall = new Map<string, Record<string, unknown>>();
  toLines(input).forEach((l, i) => {
    if (l.type !== 'assistant' || !l.message?.usage) return;
    const key = usageKey(l, i);
    perCall.delete(key); // keep insertion order = order of last occurrence
    perCall.set(key, l.message.usage);
  });
  const t: UsageTotals = { input: 0, output: 0, cache_read: 0, cache_creation: 0 };
  for (const u of perCall.values()) {
    t.input += num(u.input_tokens);
    t.output += num(u.output_tokens);
    t.cache_read += num(u.cache_read_input_tokens);
    t.cache_creation += num(u.cache_creation_input_tokens);
  }
  return t;
}

const NON_PROMPT_PREFIXES = [
  '<command-name>',
  '<command-message>',
  '<local-command-stdout>',
  '<local-command-stderr>',
  '<local-command-caveat>',
  '<bash-stdout>',
  '<bash-stderr>',
  '[Request interrupted by user',
];

/** True for a `user` line that starts a new turn (a typed / queued / positional prompt). */
export function isUserPrompt(line: object): boolean {
  const l = line as Line;
  if (l.type !== 'user' || l.isMeta || l.isCompactSummary) return false;
  const c = l.message?.content;
  let text: string;
  if (typeof c === 'string') {
    text = c;
  } else if (Array.isArray(c)) {
    if (c.some((b) => b && typeof b === 'object' && (b as { type?: string }).type === 'tool_result')) return false;
    const texts = c.filter((b) => b && typeof b === 'object' && (b as { type?: string }).type === 'text');
    if (texts.length === 0) return c.length > 0; // e.g. an image-only prompt
    text = texts.map((b) => String((b as { text?: unknown }).text ?? '')).join('');
  } else {
    return false;
  }
  const head = text.trimStart();
  return !NON_PROMPT_PREFIXES.some((p) => head.startsWith(p));
}

function assistantText(l: Line): string | undefined {
  const c = l.message?.content;
  if (typeof c === 'string') return c;
  if (!Array.isArray(c)) return undefined;
  const texts = c
    .filter((b) => b && typeof b === 'object' && (b as { type?: string }).type === 'text')
    .map((b) => String((b as { text?: unknown }).text ?? ''));
  return texts.length ? texts.join('') : undefined;
}

/**
 * The final assistant text of the most recent turn (after the last real user prompt), or
 * undefined when that turn has no assistant text (yet). Text blocks of one API message
 * (several lines sharing `message.id`) are joined in order. Synthetic lines written by
 * Claude Code itself are skipped unless they report an API error.
 */
export function lastReply(input: TranscriptInput): string | undefined {
  const lines = toLines(input);
  let start = 0;
  for (let i = lines.length - 1; i >= 0; i--) {
    if (isUserPrompt(lines[i])) {
      start = i + 1;
      break;
    }
  }
  let msgId: string | undefined;
  let parts: string[] = [];
  for (let i = start; i < lines.length; i++) {
    const l = lines[i];
    if (l.type !== 'assistant') continue;
    if (l.message?.model === '<synthetic>' && !l.isApiErrorMessage) continue;
    const text = assistantText(l);
    if (text === undefined) continue;
    const id = l.message?.id ?? l.requestId ?? l.uuid;
    if (id !== undefined && id === msgId) {
      parts.push(text);
    } else {
      msgId = id;
      parts = [text];
    }
  }
  return msgId === undefined && parts.length === 0 ? undefined : parts.join('\n\n');
}

function isToolResult(l: Line): boolean {
  const c = l.message?.content;
  return l.type === 'user' && Array.isArray(c) && c.some((b) => b && typeof b === 'object' && (b as { type?: string }).type === 'tool_result');
}

function callsTool(l: Line): boolean {
  const c = l.message?.content;
  return Array.isArray(c) && c.some((b) => b && typeof b === 'object' && (b as { type?: string }).type === 'tool_use');
}

/**
 * Whether the most recent turn reads as finished in the transcript: its last entry (an
 * assistant line or a tool result) is assistant text, not a tool call or a tool's result.
 * The Stop hook can run before Claude Code has flushed the turn's last lines: a reply read
 * then is the text written before the turn's last tool call ("Trying."), not its end.
 */
export function turnReadsFinished(input: TranscriptInput): boolean {
  const lines = toLines(input);
  let last: Line | undefined;
  for (let i = lines.length - 1; i >= 0 && !last; i--) {
    const l = lines[i];
    if (isUserPrompt(l)) return false;
    if (isToolResult(l) || (l.type === 'assistant' && (l.message?.model !== '<synthetic>' || l.isApiErrorMessage))) last = l;
  }
  return !!last && last.type === 'assistant' && !callsTool(last) && assistantText(last) !== undefined;
}

export interface Turn {
  prompt: string;
  reply?: string;
}

/** The text of a user line: a string, or its text blocks joined. */
export function promptText(l: { message?: { content?: unknown } }): string {
  const c = l.message?.content;
  if (typeof c === 'string') return c;
  if (!Array.isArray(c)) return '';
  return c
    .filter((b) => b && typeof b === 'object' && (b as { type?: string }).type === 'text')
    .map((b) => String((b as { text?: unknown }).text ?? ''))
    .join('');
}

/** The last `n` turns: each real user prompt with the final assistant text that answered it. */
export function recentTurns(input: TranscriptInput, n: number): Turn[] {
  const lines = toLines(input);
  const starts: number[] = [];
  lines.forEach((l, i) => {
    if (isUserPrompt(l)) starts.push(i);
  });
  return starts.slice(-n).map((start, k, all) => {
    const end = all[k + 1] ?? lines.length;
    const reply = lastReply(lines.slice(start, end));
    return { prompt: promptText(lines[start]), ...(reply !== undefined ? { reply } : {}) };
  });
}

/**
 * Claude Code's project directory name for a cwd: every UTF-16 unit outside [a-zA-Z0-9]
 * becomes '-'. Longer than 200: the first 200 chars, '-', then base-36 of
 * |Java-style String.hashCode(cwd)| (verified on 2.1.197 with a 257-char path).
 */
export function encodeProjectDir(cwd: string): string {
  const encoded = cwd.replace(/[^a-zA-Z0-9]/g, '-');
  if (encoded.length <= 200) return encoded;
  let h = 0;
  for (let i = 0; i < cwd.length; i++) h = (Math.imul(h, 31) + cwd.charCodeAt(i)) | 0;
  return `${encoded.slice(0, 200)}-${Math.abs(h).toString(36)}`;
}

/**
 * `<configDir>/projects/<encoded realpath(cwd)>/<sessionId>.jsonl`. `configDir` is
 * `$CLAUDE_CONFIG_DIR` or `$HOME/.claude`. The cwd is resolved through symlinks when it
 * exists (e.g. macOS `/tmp` → `/private/tmp`).
 */
export function transcriptPath(configDir: string, cwd: string, sessionId: string): string {
  let real = resolve(cwd);
  try {
    real = realpathSync(real);
  } catch {
    /* does not exist (any more): use it as given */
  }
  return join(configDir, 'projects', encodeProjectDir(real), `${sessionId}.jsonl`);
}

/**
 * Incremental reader: each `refresh()` reads only the bytes appended since the previous
 * one, keeps a partial trailing line for next time, and updates `usage` / `lastReply`.
 * A file that shrank (rewritten) is read again from the start.
 */
export class TranscriptReader {
  readonly path: string;
  private offset = 0;
  private pending: Buffer = Buffer.alloc(0);
  private perCall = new Map<string, Record<string, unknown>>();
  /** The model that answered each API call (same keys as perCall). */
  private callModel = new Map<string, string>();
  private lineCount = 0;
  /** Lines since (and including) the last user prompt; enough to compute lastReply. */
  private turn: Line[] = [];
  private _lastReply: string | undefined;
  private _replyFinal = false;
  private _modifiedAt: number | undefined;
  private running: Promise<unknown> = Promise.resolve();

  constructor(path: string) {
    this.path = path;
  }

  get usage(): UsageTotals {
    const t: UsageTotals = { input: 0, output: 0, cache_read: 0, cache_creation: 0 };
    for (const u of this.perCall.values()) {
      t.input += num(u.input_tokens);
      t.output += num(u.output_tokens);
      t.cache_read += num(u.cache_read_input_tokens);
      t.cache_creation += num(u.cache_creation_input_tokens);
    }
    return t;
  }

  /**
   * Token totals per model id. Lines Claude Code writes itself (`<synthetic>`) cost nothing
   * and are left out; a call whose line names no model is counted under "unknown".
   */
  get usageByModel(): Map<string, UsageTotals> {
    const out = new Map<string, UsageTotals>();
    for (const [key, u] of this.perCall) {
      const model = this.callModel.get(key) ?? 'unknown';
      if (model === '<synthetic>') continue;
      let t = out.get(model);
      if (!t) out.set(model, (t = { input: 0, output: 0, cache_read: 0, cache_creation: 0 }));
      t.input += num(u.input_tokens);
      t.output += num(u.output_tokens);
      t.cache_read += num(u.cache_read_input_tokens);
      t.cache_creation += num(u.cache_creation_input_tokens);
    }
    return out;
  }

  get lastReply(): string | undefined {
    return this._lastReply;
  }

  /** Whether the latest turn reads as finished (turnReadsFinished): its lastReply is its end, not a step. */
  get lastReplyFinal(): boolean {
    return this._replyFinal;
  }

  /** The text of the prompt that started the most recent turn. */
  get lastPrompt(): string | undefined {
    return this.turn[0] && isUserPrompt(this.turn[0]) ? promptText(this.turn[0]) : undefined;
  }

  /** Bytes consumed so far (complete lines only). */
  get bytesRead(): number {
    return this.offset - this.pending.length;
  }

  private reset(): void {
    this.offset = 0;
    this.pending = Buffer.alloc(0);
    this.perCall.clear();
    this.callModel.clear();
    this.lineCount = 0;
    this.turn = [];
    this._lastReply = undefined;
    this._replyFinal = false;
  }

  /** When the file was last written, as its last refresh found it (undefined: not there). */
  get modifiedAt(): number | undefined {
    return this._modifiedAt;
  }

  /**
   * Reads what was appended. Returns the number of new complete lines (JSON or not).
   * Refreshes run one at a time: two at once would both read the bytes after one offset.
   * With `look`, the file's stat is the one that look takes (one per file per status).
   */
  refresh(look?: FileLook): Promise<number> {
    const next = this.running.then(() => this.read(look));
    this.running = next.catch(() => undefined);
    return next;
  }

  private async read(look?: FileLook): Promise<number> {
    // A stat alone says whether anything was appended (most looks find nothing new), and
    // spares the open, fstat and close of a read.
    const st = await lookAt(this.path, look);
    this._modifiedAt = st?.mtimeMs;
    if (!st) return 0;
    const size = st.size;
    if (size === this.offset) return 0;
    let fh;
    try {
      fh = await open(this.path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    }
    const chunks: Buffer[] = [];
    try {
      const { size } = await fh.stat();
      if (size < this.offset) this.reset();
      let pos = this.offset;
      while (pos < size) {
        const buf = Buffer.alloc(Math.min(size - pos, 1 << 20));
        const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
        if (bytesRead === 0) break;
        chunks.push(buf.subarray(0, bytesRead));
        pos += bytesRead;
      }
      this.offset = pos;
    } finally {
      await fh.close();
    }
    if (chunks.length === 0) return 0;
    const data = Buffer.concat([this.pending, ...chunks]);
    const lastNl = data.lastIndexOf(0x0a);
    if (lastNl < 0) {
      this.pending = data;
      return 0;
    }
    this.pending = Buffer.from(data.subarray(lastNl + 1));
    const text = data.subarray(0, lastNl).toString('utf8');
    let n = 0;
    let turnChanged = false;
    for (const raw of text.split('\n')) {
      n++;
      const l = parseLine(raw);
      if (!l) continue;
      const index = this.lineCount++;
      if (l.type === 'assistant' && l.message?.usage) {
        const key = usageKey(l, index);
        this.perCall.delete(key);
        this.perCall.set(key, l.message.usage);
        if (typeof l.message.model === 'string') this.callModel.set(key, l.message.model);
      }
      if (isUserPrompt(l)) {
        this.turn = [l];
        turnChanged = true;
      } else if (l.type === 'assistant' || isToolResult(l)) {
        this.turn.push(l);
        turnChanged = true;
      }
    }
    if (turnChanged) {
      this._lastReply = lastReply(this.turn);
      this._replyFinal = turnReadsFinished(this.turn);
    }
    return n;
  }
}
