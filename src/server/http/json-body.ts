import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';

/** Request bodies are JSON-RPC or tool arguments: a few MB is far more than any of them needs (bodyLimit, app.ts). */
export const MAX_BODY = 4 * 1024 * 1024;

/** The request's JSON body (undefined when empty); a body that is not JSON is the caller's mistake: 400 saying so. */
export async function jsonBody(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new HTTPException(400, { res: c.json({ error: `the request body is not JSON: ${(e as Error).message}` }, 400) });
  }
}
