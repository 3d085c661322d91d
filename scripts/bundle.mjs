// Bundles the CLI into one CommonJS file (dist/main.cjs) with a V8 code cache beside it, and
// writes the small entry dist/cli.js (from scripts/cli-entry.mjs) that answers --version itself. Loading ~250 small modules one by one, then parsing the 1.5 MB they make,
// was most of tabcrew's start-up time, and an MCP client waits on it.
// CommonJS because Node 20 can only use a code cache for a script (vm.Script), not for an
// ES module. tsc still emits every module beside it (the hook, tests and benchmarks import them).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, chmodSync, rmSync } from 'node:fs';

rmSync('dist/chunks', { recursive: true, force: true });
await import('./bundle-dashboard.mjs');
await build({
  entryPoints: { main: 'src/cli.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.cjs' },
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: true,
  minifyWhitespace: true,
  // A native addon: it must be loaded from node_modules as it is.
  external: ['node-pty'],
  // import.meta does not exist in CommonJS: the modules that locate files by it get the bundle's own URL.
  define: { 'import.meta.url': '__tcImportMetaUrl' },
  logLevel: 'warning',
});

// The shebang of src/cli.ts is not JavaScript inside the function wrapper: keep the line, as a
// comment (the source map counts lines). The URL goes after "use strict", which must come first.
const bundled = readFileSync('dist/main.cjs', 'utf8').replace(/^#!/, '//');
const strict = '"use strict";';
if (!bundled.includes(strict)) throw new Error('bundle.mjs: esbuild no longer writes "use strict" into dist/main.cjs');
writeFileSync('dist/main.cjs', bundled.replace(strict, `${strict}const __tcImportMetaUrl=require('node:url').pathToFileURL(__filename).href;`));
// V8 keeps a script's source for as long as the script runs (its functions compile from it when first
// called), as one byte a character only when every character is ASCII: one other character anywhere
// (esbuild leaves those of a regular expression literal as they are) makes it two, 2.6 MB more in the server.
const nonAscii = /[^\x00-\x7f]/.exec(bundled);
if (nonAscii)
  throw new Error(
    `bundle.mjs: dist/main.cjs has the non-ASCII character ${JSON.stringify(nonAscii[0])} near ${JSON.stringify(bundled.slice(Math.max(0, nonAscii.index - 60), nonAscii.index + 20))}: write it as a \\u escape in the source`,
  );

// The code cache: compile the bundle and run its module initialisation (what every command
// does before main), so the functions that run at start-up are in the cache already compiled.
// Under the V8 flags the entry sets (its HEAP_FLAGS), set the way it sets them: V8 rejects a cache
// made under other flags, and flags given to node on its command line count as other flags.
const entrySource = readFileSync('scripts/cli-entry.mjs', 'utf8');
const heapFlags = /^const HEAP_FLAGS = (\[[^\]\n]*\]);$/m.exec(entrySource)?.[1];
if (!heapFlags) throw new Error('bundle.mjs: scripts/cli-entry.mjs no longer has a one-line `const HEAP_FLAGS = [...];`');
execFileSync(
  process.execPath,
  [
    '-e',
    `for (const flag of ${heapFlags}) require('node:v8').setFlagsFromString(flag);
     const { readFileSync, writeFileSync } = require('node:fs'); const { Script } = require('node:vm');
     const file = require('node:path').resolve('dist/main.cjs');
     const script = new Script('(function (exports, require, module, __filename, __dirname) {' + readFileSync(file, 'utf8') + '\\n})', { filename: file });
     const module = { exports: {} };
     script.runInThisContext()(module.exports, require('node:module').createRequire(file), module, file, require('node:path').dirname(file));
     module.exports.buildProgram();
     writeFileSync(file + '.cache', script.createCachedData());`,
  ],
  { stdio: 'inherit' },
);

// The entry, with the version as the full CLI prints it.
const run = (...args) =>
  execFileSync(process.execPath, ['-e', `require('./dist/main.cjs').main(['node', 'tabcrew', ...${JSON.stringify(args)}])`], { encoding: 'utf8' });
const version = run('--version').trim();

// The fast handshake of the entry: the real server's answers to initialize and tools/list,
// and the options of `serve` (commander's own list), so the entry knows which command lines
// are a plain `serve`. test/cli/fast-handshake.test.ts checks the entry's answers against the server's.
const handshake = JSON.parse(
  execFileSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const { handshakeAnswers } = await import('./dist/server/handshake.js');
       const { createRequire } = await import('node:module');
       const serve = createRequire(import.meta.url)('./dist/main.cjs').buildProgram().commands.find((c) => c.name() === 'serve');
       const serveOptions = {};
       for (const o of serve.options) {
         const spec = { value: o.required || o.optional, variadic: o.variadic, choices: o.argChoices, env: o.envVar };
         for (const flag of [o.long, o.short]) if (flag) serveOptions[flag] = spec;
       }
       process.stdout.write(JSON.stringify({ ...(await handshakeAnswers()), serveOptions }));`,
    ],
    { encoding: 'utf8' },
  ),
);
const entry = entrySource.replace("'__VERSION__'", JSON.stringify(version)).replace("'__HANDSHAKE__'", () => JSON.stringify(handshake));
writeFileSync('dist/cli.js', entry);
chmodSync('dist/cli.js', 0o755);

// The hook program Claude Code starts for PreToolUse and PermissionRequest (claude/hook-commands.ts):
// one small CommonJS file, so a tool call pays node's start-up and little more (no module
// graph to resolve; node:* only).
await build({
  entryPoints: { hook: 'src/hook.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.cjs' },
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  minifyWhitespace: true,
  logLevel: 'warning',
});
