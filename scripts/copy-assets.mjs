// tsc copies only .ts output; the ADDER+ template and other non-code assets ship beside it.
import { cpSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const assets = [['src/claude', 'dist/claude', (f) => f.endsWith('.md')]];
for (const [from, to, keep] of assets) {
  mkdirSync(to, { recursive: true });
  for (const f of readdirSync(from)) if (keep(f)) cpSync(join(from, f), join(to, f));
}
