// The dashboard (src/server/http/dashboard): one script bundled with xterm.js from node_modules,
// its styles and page, into dist/dashboard, which `serve --http` serves itself. No CDN: the page
// works offline and loads nothing from anywhere else.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const src = 'src/server/http/dashboard';
const out = 'dist/dashboard';
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(src, 'app.js')],
  outfile: join(out, 'app.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  sourcemap: false,
  logLevel: 'warning',
});
copyFileSync(join(src, 'index.html'), join(out, 'index.html'));
copyFileSync(join(src, 'app.css'), join(out, 'app.css'));
const xterm = dirname(createRequire(import.meta.url).resolve('@xterm/xterm/package.json'));
copyFileSync(join(xterm, 'css', 'xterm.css'), join(out, 'xterm.css'));
