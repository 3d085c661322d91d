import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';

/** The bearer token every HTTP request must carry; one per state dir, made on first use. */
export const TOKEN_FILE = 'http-token';
const TOKEN_SHAPE = /^tc_[A-Za-z0-9_-]{43}$/;

export function tokenPath(stateDir: string): string {
  return join(stateDir, TOKEN_FILE);
}

/** Reads the token, or makes one (0600, written atomically) when there is none yet. */
export function loadOrCreateToken(stateDir: string): string {
  const file = tokenPath(stateDir);
  try {
    const token = readFileSync(file, 'utf8').trim();
    if (TOKEN_SHAPE.test(token)) return token;
    throw new Error(`${file} does not hold a tabcrew token: delete it and a new one is made at the next start.`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const token = `tc_${randomBytes(32).toString('base64url')}`;
  writeFileAtomic.sync(file, token + '\n', { mode: 0o600 });
  // Two servers starting at once: keep whichever file landed.
  return readFileSync(file, 'utf8').trim();
}

/** Constant-time comparison: the time a refusal takes says nothing about the token. */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** A value derived from the token for one purpose, so the token itself never travels in a URL. */
export function derive(token: string, purpose: string, data: string): string {
  return createHmac('sha256', token).update(`${purpose}\n${data}`).digest('base64url');
}
