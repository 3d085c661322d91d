// Bundles the CLI into one file: loading ~250 small modules (the MCP SDK, winston, zod,
// libsodium) one by one is most of tabcrew's start-up time, and an MCP client waits on it.
// tsc still emits every module beside it (the hook, tests and benchmarks import them).
import { build } from 'esbuild';

await build({
  entryPoints: ['src/cli.ts'],
  outdir: 'dist',
  entryNames: '[name]',
  // What `serve` does not need before its first answer (the PTY backend's terminal model,
  // libsodium) goes into chunks loaded on first use.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  // A native addon: it must be loaded from node_modules as it is.
  external: ['node-pty'],
  // CommonJS dependencies (winston, write-file-atomic) use require, __filename and
  // __dirname, which an ESM bundle does not have.
  banner: {
    js: [
      "import { createRequire as __tcRequire } from 'node:module';",
      "import { fileURLToPath as __tcPath } from 'node:url';",
      "import { dirname as __tcDirname } from 'node:path';",
      'const require = __tcRequire(import.meta.url);',
      'const __filename = __tcPath(import.meta.url);',
      'const __dirname = __tcDirname(__filename);',
    ].join(' '),
  },
  logLevel: 'warning',
});
