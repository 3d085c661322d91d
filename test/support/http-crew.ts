import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Crew } from './tabcrew.js';

/** The URL and token of a crew started with `--http 0`: the server writes both into its state dir once it listens. */
export async function httpOf(crew: Crew): Promise<{ url: string; token: string }> {
  const file = join(crew.dirs.state, 'http-endpoint.json');
  for (let i = 0; i < 200 && !existsSync(file); i++) await new Promise((r) => setTimeout(r, 100));
  const { url } = JSON.parse(readFileSync(file, 'utf8')) as { url: string };
  return { url, token: readFileSync(join(crew.dirs.state, 'http-token'), 'utf8').trim() };
}
