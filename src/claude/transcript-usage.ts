import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

/*
 * The usage lines of a transcript, read from where the last read stopped. The position is
 * handed in and out (not kept here), so whoever counts can keep it somewhere the agent cannot
 * write (tabcrew's encrypted state) and go on from it after a restart.
 *
 * The transcript is the agent's to write: it can empty, shorten or rewrite it. A read that
 * finds it shorter than the position, or its beginning changed, starts again from byte 0 and
 * says so (`rewound`); what was counted before stays counted by the caller.
 */

/** One API call's usage, as one of its transcript lines reports it. */
export interface CallUsage {
  /** `message.id` (else `requestId`): the lines of one call share it. */
  id: string;
  model: string;
  input: number;
  output: number;
  cache_read: number;
  cache_creation: number;
}

/** Where the last read stopped: after the last complete line, and a digest of the bytes before it. */
export interface TranscriptCursor {
  offset: number;
  /** sha256 (hex, 32 chars) of the first min(offset, HEAD_BYTES) bytes. */
  head: string;
}

export interface UsageRead {
  /** Usage of the assistant lines read, in order; lines of one call appear once per line. */
  calls: CallUsage[];
  cursor: TranscriptCursor;
  /** Set when the file was shorter than the cursor, or its beginning differed: read from 0 again. */
  rewound?: 'shrank' | 'rewritten';
}

/** How much of the beginning the cursor's digest covers: enough to tell another file, cheap to re-read. */
export const HEAD_BYTES = 4096;
const CHUNK = 1 << 20;

function digest(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 32);
}

function count(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0;
}

/** The usage an assistant line carries, or undefined for any other line. Synthetic lines cost nothing. */
export function callUsageOf(raw: string): CallUsage | undefined {
  // Most lines are prompts, tool results, attachments: skip them without parsing.
  if (!raw.includes('"usage"')) return undefined;
  let l: { type?: unknown; requestId?: unknown; message?: { id?: unknown; model?: unknown; usage?: Record<string, unknown> } };
  try {
    l = JSON.parse(raw) as typeof l;
  } catch {
    return undefined;
  }
  if (!l || typeof l !== 'object' || l.type !== 'assistant') return undefined;
  const m = l.message;
  const u = m?.usage;
  if (!u || typeof u !== 'object') return undefined;
  const id = typeof m.id === 'string' ? m.id : typeof l.requestId === 'string' ? l.requestId : undefined;
  const model = typeof m.model === 'string' ? m.model : 'unknown';
  if (!id || model === '<synthetic>') return undefined;
  return {
    id: id.slice(0, 200),
    model: model.slice(0, 200),
    input: count(u.input_tokens),
    output: count(u.output_tokens),
    cache_read: count(u.cache_read_input_tokens),
    cache_creation: count(u.cache_creation_input_tokens),
  };
}

/**
 * Reads the complete lines written after `cursor` (all of them without one) and returns the
 * usage they carry and the new cursor. A missing file reads as empty. A partial last line is
 * left for the next read.
 */
export async function readUsageSince(path: string, cursor?: TranscriptCursor): Promise<UsageRead> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { calls: [], cursor: cursor ?? { offset: 0, head: digest(Buffer.alloc(0)) } };
    throw e;
  }
  try {
    const { size } = await fh.stat();
    let start = cursor?.offset ?? 0;
    let rewound: UsageRead['rewound'];
    if (start > size) {
      rewound = 'shrank';
      start = 0;
    } else if (cursor && start > 0) {
      const head = Buffer.alloc(Math.min(start, HEAD_BYTES));
      const { bytesRead } = await fh.read(head, 0, head.length, 0);
      if (digest(head.subarray(0, bytesRead)) !== cursor.head) {
        rewound = 'rewritten';
        start = 0;
      }
    }
    const calls: CallUsage[] = [];
    let pos = start;
    let carry = Buffer.alloc(0);
    let end = start;
    while (pos < size) {
      const buf = Buffer.alloc(Math.min(size - pos, CHUNK));
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
      const data = carry.length ? Buffer.concat([carry, buf.subarray(0, bytesRead)]) : buf.subarray(0, bytesRead);
      const lastNl = data.lastIndexOf(0x0a);
      if (lastNl < 0) {
        carry = Buffer.from(data);
        continue;
      }
      for (const line of data.subarray(0, lastNl).toString('utf8').split('\n')) {
        const call = callUsageOf(line);
        if (call) calls.push(call);
      }
      end = pos - (data.length - lastNl - 1);
      carry = Buffer.from(data.subarray(lastNl + 1));
    }
    const head = Buffer.alloc(Math.min(end, HEAD_BYTES));
    const { bytesRead } = head.length ? await fh.read(head, 0, head.length, 0) : { bytesRead: 0 };
    return { calls, cursor: { offset: end, head: digest(head.subarray(0, bytesRead)) }, ...(rewound ? { rewound } : {}) };
  } finally {
    await fh.close();
  }
}
