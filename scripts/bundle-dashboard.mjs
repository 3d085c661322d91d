// The dashboard (src/server/http/dashboard): one script bundled with xterm.js and diff2html from
// node_modules, its styles and page, into dist/dashboard, which `serve --http` serves itself. No
// CDN: the page works offline and loads nothing from anywhere else.
import { build, transform } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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
// diff2html's styles (the Changes tab) go first in the served app.css, so the page's own rules,
// after them, have the last word; the server serves a fixed list of files, and this adds none.
// Several features add their own block to app.css: a block left open would swallow every rule
// after it without an error in the browser, so the build refuses it here.
const pageCss = readFileSync(join(src, 'app.css'), 'utf8');
const cssProblems = (await transform(pageCss, { loader: 'css', logLevel: 'silent' })).warnings;
if (cssProblems.length) {
  throw new Error(`${join(src, 'app.css')}: ${cssProblems.map((w) => `line ${w.location?.line}: ${w.text}`).join('; ')}. Fix the stylesheet and build again.`);
}
const diff2html = dirname(createRequire(import.meta.url).resolve('diff2html/package.json'));
const diffCss = readFileSync(join(diff2html, 'bundles', 'css', 'diff2html.min.css'), 'utf8');
writeFileSync(
  join(out, 'app.css'),
  `/* diff2html ${JSON.parse(readFileSync(join(diff2html, 'package.json'), 'utf8')).version} (MIT) */\n${diffCss}\n${pageCss}`,
);
const xterm = dirname(createRequire(import.meta.url).resolve('@xterm/xterm/package.json'));
copyFileSync(join(xterm, 'css', 'xterm.css'), join(out, 'xterm.css'));
