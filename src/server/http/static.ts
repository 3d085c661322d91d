import type { ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packageRoot } from '../../config.js';

// A Map, not an object literal: "/assets/constructor" or "/assets/__proto__" must find
// nothing rather than what every object inherits.
const TYPES = new Map<string, string>([
  ['index.html', 'text/html; charset=utf-8'],
  ['app.js', 'text/javascript; charset=utf-8'],
  ['app.css', 'text/css; charset=utf-8'],
  ['xterm.css', 'text/css; charset=utf-8'],
]);

/** The dashboard's files, built into dist/dashboard by scripts/bundle.mjs: a fixed list, so no path from a URL reaches the file system. */
export function dashboardFile(path: string): string | undefined {
  if (path === '/') return 'index.html';
  const name = path.startsWith('/assets/') ? path.slice('/assets/'.length) : undefined;
  return name !== undefined && TYPES.has(name) ? name : undefined;
}

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

export async function sendDashboardFile(res: ServerResponse, name: string): Promise<void> {
  let body: Buffer;
  try {
    body = await readFile(join(packageRoot(), 'dist', 'dashboard', name));
  } catch {
    // Anyone who passes the Host check may ask: the answer names no path on this machine.
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`The dashboard file ${name} is missing: run npm run build where tabcrew is installed.\n`);
    return;
  }
  res.writeHead(200, { 'content-type': TYPES.get(name)!, 'cache-control': 'no-cache', ...SECURITY_HEADERS });
  res.end(body);
}
