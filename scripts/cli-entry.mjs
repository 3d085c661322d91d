#!/usr/bin/env node
// tabcrew's command line, as installed (dist/cli.js; scripts/bundle.mjs writes it from this file).
// It answers `--version` itself and otherwise runs the bundle (dist/main.cjs) from
// V8's code cache made at build time, so neither a version nor an MCP client's first answer
// waits for 1.5 MB of JavaScript to be parsed. (Help stays with the full CLI: its defaults name
// the install's directories and it wraps to the terminal.) Nothing else here may print to stdout.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Script, constants } from 'node:vm';

const VERSION = '__VERSION__';

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  process.stdout.write(`${VERSION}\n`);
} else {
  const file = new URL('./main.cjs', import.meta.url).pathname;
  const source = readFileSync(file, 'utf8');
  let cachedData;
  try {
    cachedData = readFileSync(`${file}.cache`);
  } catch {
    // No cache (a build that could not write it): V8 compiles the bundle as usual.
  }
  // Same wrapper as Node's CommonJS loader; a cache made by another Node or V8 is rejected
  // by V8 itself, and the bundle then compiles as usual.
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    cachedData,
    importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, new URL('.', import.meta.url).pathname);
  await module.exports.main(process.argv);
}
