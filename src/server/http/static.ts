import { join } from 'node:path';
import { serveStatic } from '@hono/node-server/serve-static';
import type { MiddlewareHandler } from 'hono';
import { packageRoot } from '../../config.js';

// Every script and style is served from here: no CDN, nothing inline but the styles xterm.js sets.
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; font-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

export function securityHeaders(): Record<string, string> {
  return { ...SECURITY_HEADERS };
}

// Set before the file is read: headers set in serveStatic's onFound come after its response is made.
export const dashboardHeaders: MiddlewareHandler = async (c, next) => {
  for (const [k, v] of Object.entries(SECURITY_HEADERS)) c.header(k, v);
  c.header('cache-control', 'no-cache');
  await next();
};

/**
 * The dashboard's files, built into dist/dashboard by scripts/bundle-dashboard.mjs: the page
 * at `/`, the rest under `/assets/`, served by @hono/node-server's serveStatic from that
 * directory only (it refuses `..`, `//`, backslashes and encoded separators). What is not
 * there goes on to the plain 404; the answer never names a path on this machine.
 */
export function dashboardFiles(dir = join(packageRoot(), 'dist', 'dashboard')): { page: MiddlewareHandler; assets: MiddlewareHandler } {
  return {
    page: serveStatic({ root: dir, path: 'index.html' }),
    assets: serveStatic({ root: dir, rewriteRequestPath: (p) => p.slice('/assets'.length) }),
  };
}
