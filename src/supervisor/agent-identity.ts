import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * An agent's identity towards the supervisor: 32 random bytes made at every launch of its
 * Claude Code, handed to that agent alone (a 0600 file in its runtime folder, named in its
 * MCP config), and known to the supervisor only as a hash in the encrypted state.
 */
export function newAgentSecret(): { secret: string; sha256: string } {
  const secret = randomBytes(32).toString('base64url');
  return { secret, sha256: secretSha256(secret) };
}

export function secretSha256(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Constant time in the secret: both sides are hashed to 32 bytes before they are compared. */
export function secretMatches(given: string, storedSha256: string | undefined): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  // An agent without a stored hash is compared against a hash no secret has, so a miss costs the same.
  const b = storedSha256 && /^[0-9a-f]{64}$/.test(storedSha256) ? Buffer.from(storedSha256, 'hex') : Buffer.alloc(32, 0xff);
  return timingSafeEqual(a, b) && storedSha256 !== undefined;
}
