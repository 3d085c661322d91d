import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';

/** Where a running `serve --http` listens, for `tabcrew dashboard` and `config http`. */
const ENDPOINT_FILE = 'http-endpoint.json';

export interface Endpoint {
  url: string;
  pid: number;
}

export function writeEndpoint(stateDir: string, endpoint: Endpoint): void {
  writeFileAtomic.sync(join(stateDir, ENDPOINT_FILE), JSON.stringify(endpoint) + '\n', { mode: 0o600 });
}

export function removeEndpoint(stateDir: string, pid: number): void {
  if (readEndpoint(stateDir)?.pid === pid) rmSync(join(stateDir, ENDPOINT_FILE), { force: true });
}

export function readEndpoint(stateDir: string): Endpoint | undefined {
  try {
    const e = JSON.parse(readFileSync(join(stateDir, ENDPOINT_FILE), 'utf8')) as Endpoint;
    return typeof e.url === 'string' && typeof e.pid === 'number' ? e : undefined;
  } catch {
    return undefined;
  }
}
