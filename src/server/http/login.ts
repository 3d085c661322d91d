import { randomBytes } from 'node:crypto';
import type { CookieOptions } from 'hono/utils/cookie';
import { derive, sameSecret } from './token.js';

/** How long a `tabcrew dashboard` link can be used; once used, it is spent. */
export const LOGIN_TTL_MS = 10 * 60_000;
export const COOKIE = 'tabcrew_dashboard';
/** The page cannot read it, and no other site's request carries it. */
export const COOKIE_OPTIONS: CookieOptions = { httpOnly: true, sameSite: 'Strict', path: '/', maxAge: 30 * 24 * 3600 };

/** The one-time link's query: a nonce, its expiry, and a MAC under the token (the token itself never appears in a URL). */
export function loginQuery(token: string, now = Date.now()): string {
  const n = randomBytes(18).toString('base64url');
  const e = String(now + LOGIN_TTL_MS);
  return `n=${n}&e=${e}&s=${derive(token, 'login', `${n}.${e}`)}`;
}

/**
 * Browser logins. The cookie is a random id with a MAC under the token, and the CSRF token is
 * derived from that id: nothing to store, a login outlives a server restart, and replacing
 * the token file logs every browser out.
 */
export class Logins {
  private readonly spent = new Map<string, number>();

  constructor(private readonly token: string) {}

  /** A cookie for a valid, unexpired, unused link; undefined otherwise. */
  redeem(params: URLSearchParams, now = Date.now()): string | undefined {
    const n = params.get('n') ?? '';
    const e = params.get('e') ?? '';
    const s = params.get('s') ?? '';
    if (!/^[A-Za-z0-9_-]{24}$/.test(n) || !/^\d{1,16}$/.test(e)) return undefined;
    if (!sameSecret(s, derive(this.token, 'login', `${n}.${e}`))) return undefined;
    const expires = Number(e);
    if (expires < now || expires > now + LOGIN_TTL_MS || this.spent.has(n)) return undefined;
    for (const [k, until] of this.spent) if (until < now) this.spent.delete(k);
    this.spent.set(n, expires);
    const id = randomBytes(18).toString('base64url');
    return `${id}.${derive(this.token, 'cookie', id)}`;
  }

  /** The login id of a valid cookie value. */
  verify(cookie: string | undefined): string | undefined {
    const m = cookie && /^([A-Za-z0-9_-]{24})\.([A-Za-z0-9_-]{43})$/.exec(cookie);
    if (!m) return undefined;
    return sameSecret(m[2], derive(this.token, 'cookie', m[1])) ? m[1] : undefined;
  }

  csrfFor(loginId: string): string {
    return derive(this.token, 'csrf', loginId);
  }
}
