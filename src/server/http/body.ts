import type { IncomingMessage, ServerResponse } from 'node:http';

/** Request bodies are JSON-RPC or tool arguments: a few MB is far more than any of them needs. */
const MAX_BODY = 4 * 1024 * 1024;

export class BodyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new BodyError(413, `the request body is over ${MAX_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new BodyError(400, `the request body is not JSON: ${(e as Error).message}`);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(text);
}

/** A refusal that tells a caller without the token nothing: no body, no reason. */
export function sendUnauthorized(res: ServerResponse): void {
  res.writeHead(401, { 'www-authenticate': 'Bearer', 'content-length': '0', 'cache-control': 'no-store' });
  res.end();
}
