#!/usr/bin/env node
// tabcrew's command line, as installed (dist/cli.js; scripts/bundle.mjs writes it from this file).
// It answers `--version` itself and otherwise runs the bundle (dist/main.cjs) from
// V8's code cache made at build time, so neither a version nor an MCP client's first answer
// waits for 1.5 MB of JavaScript to be parsed. (Help stays with the full CLI: its defaults name
// the install's directories and it wraps to the terminal.) Nothing else here may print to stdout.
//
// `serve` with a client on stdin: the entry answers `initialize` and `tools/list` itself, from
// the answers the real server gave at build time (src/server/handshake.ts), then loads the
// bundle and hands it stdin from the first byte (src/server/handover-transport.ts): the server
// reads every message as if it had been there, sends no second answer to those two, and checks
// that its own answers equal the entry's. Loading the MCP SDK, zod, winston and commander was
// most of the time a client waited for its tool list.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { PassThrough } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { Script, constants } from 'node:vm';

const VERSION = '__VERSION__';
/** { initialize, tools, supportedProtocolVersions, latestProtocolVersion, serveOptions }, from the build. */
const HANDSHAKE = '__HANDSHAKE__';

// An error nothing caught ends tabcrew with one line. Node's own report quotes the source
// line it came from, and in the bundle that line is most of a megabyte of minified code.
for (const event of ['uncaughtException', 'unhandledRejection']) {
  process.on(event, (e) => {
    const at = /\n\s+at (.+)/.exec(e?.stack ?? '')?.[1];
    process.stderr.write(`tabcrew: internal error: ${e?.message ?? String(e)}${at ? ` (at ${at})` : ''}\n`);
    process.exit(1);
  });
}

/**
 * V8's heap for a long-running server that allocates in bursts (a status of 64 agents, ~3 MB)
 * and keeps ~25 MB. Left to its defaults, V8 grew the young generation to two 16 MB halves and
 * let what the bursts promote pile up in old space with no full collection for as long as the
 * bench ran: 130–150 MB resident with 64 agents, ~100 with these (docs/performance.md,
 * "Memory of the server"). The heap's sizes are fixed when node starts, but these two are read
 * each time V8 uses them, so the entry can set them for every way tabcrew is started (the
 * `tabcrew` bin, `node dist/cli.js`, `npm start`):
 * - the young generation keeps the size it starts with (two 1 MB halves) instead of growing
 *   with the bursts: what a status leaves behind is scavenged sooner;
 * - after a full collection the next one comes once old space has grown by 10 % (and at least
 *   V8's own step, 8 MB) instead of by up to 4×.
 * V8 rejects a code cache made under other flags: scripts/bundle.mjs reads this list and makes
 * dist/main.cjs.cache under it.
 */
const HEAP_FLAGS = ['--semi-space-growth-factor=1', '--heap-growing-percent=10'];

function smallHeap() {
  for (const flag of HEAP_FLAGS) setFlagsFromString(flag);
}

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  process.stdout.write(`${VERSION}\n`);
} else {
  smallHeap();
  if (typeof HANDSHAKE === 'object' && !process.stdin.isTTY && process.env.TABCREW_FAST_HANDSHAKE !== '0' && isPlainServe(args, HANDSHAKE.serveOptions)) {
    fastHandshake(HANDSHAKE);
  } else {
    await runBundle();
  }
}

async function runBundle(handover) {
  await loadBundle().main(process.argv, handover);
}

/**
 * The bundle's exports. Its own function, so the file's text and the cache are garbage once the bundle
 * ran: `runBundle` lives as long as the server, and V8 keeps a copy of the text for the script anyway.
 */
function loadBundle() {
  const file = new URL('./main.cjs', import.meta.url).pathname;
  let cachedData;
  try {
    cachedData = readFileSync(`${file}.cache`);
  } catch {
    // No cache (a build that could not write it): V8 compiles the bundle as usual.
  }
  // Same wrapper as Node's CommonJS loader; a cache made by another Node or V8 is rejected
  // by V8 itself, and the bundle then compiles as usual.
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${readFileSync(file, 'utf8')}\n})`, {
    filename: file,
    cachedData,
    importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, new URL('.', import.meta.url).pathname);
  return module.exports;
}

/**
 * `tabcrew [serve] [options]` whose options commander would accept as they are: anything else
 * (a command, --help, a word, an unknown option or choice) goes to the full CLI at once, so its
 * message is not preceded by a handshake. Values commander parses further (numbers) are checked
 * by the full CLI after the handshake.
 */
function isPlainServe(argv, options) {
  let i = argv[0] === 'serve' ? 1 : 0;
  // A front with nodes gives every tool a `node` (src/crew/): its tool list is not the build's.
  if (
    process.env.TABCREW_NODES_FILE !== undefined ||
    process.env.TABCREW_NODES_FROM !== undefined ||
    argv.some((a) => /^--(node|nodes-file|nodes-from|no-stdio)(=|$)/.test(a))
  )
    return false;
  const valid = (o, v) => v !== undefined && (!o.choices || o.choices.includes(v));
  for (const o of Object.values(options)) if (o.env && process.env[o.env] !== undefined && o.choices && !o.choices.includes(process.env[o.env])) return false;
  while (i < argv.length) {
    const a = argv[i++];
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const o = options[eq > 0 ? a.slice(0, eq) : a];
    if (!o || a === '--help' || a === '-h') return false;
    if (!o.value) {
      if (eq > 0) return false;
      continue;
    }
    if (eq > 0) {
      if (!valid(o, a.slice(eq + 1))) return false;
    } else if (!valid(o, argv[i++]) || argv[i - 1].startsWith('-')) return false;
    if (o.variadic) while (i < argv.length && !argv[i].startsWith('-')) i++;
  }
  return true;
}

function fastHandshake(h) {
  const chunks = [];
  let pending = Buffer.alloc(0);
  let ended = false;
  let handed = false;
  let later = false;
  let initialized = false;
  /** id → { method, result }: the requests answered here, for the server not to answer again. */
  const answered = new Map();
  // A client that sends nothing, or stops after initialize, does not hold up the server (its
  // recovery of agents starts when it runs).
  let timer = setTimeout(handOver, 200);

  const isId = (id) => typeof id === 'string' || Number.isInteger(id);
  const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
  const answer = (msg, result) => {
    answered.set(msg.id, { method: msg.method, result });
    process.stdout.write(`{"result":${result},"jsonrpc":"2.0","id":${JSON.stringify(msg.id)}}\n`);
  };

  function onMessage(line) {
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      return (later = true); // the server's parser reports it
    }
    if (!isObject(msg) || msg.jsonrpc !== '2.0') return (later = true);
    const p = msg.params;
    if (msg.method === 'initialize' && !initialized && isId(msg.id) && isObject(p) && typeof p.protocolVersion === 'string' && isObject(p.capabilities)) {
      if (!isObject(p.clientInfo) || typeof p.clientInfo.name !== 'string' || typeof p.clientInfo.version !== 'string') return (later = true);
      initialized = true;
      const protocolVersion = h.supportedProtocolVersions.includes(p.protocolVersion) ? p.protocolVersion : h.latestProtocolVersion;
      answer(msg, JSON.stringify({ ...h.initialize, protocolVersion }));
      clearTimeout(timer);
      timer = setTimeout(handOver, 250);
    } else if (msg.method === 'notifications/initialized' && msg.id === undefined) {
      // The server reads it again.
    } else if (
      msg.method === 'tools/list' &&
      initialized &&
      isId(msg.id) &&
      !answered.has(msg.id) &&
      (p === undefined || (isObject(p) && p.cursor === undefined))
    ) {
      answer(msg, JSON.stringify(h.tools));
      later = true;
    } else {
      // For the server (it reads every message again); a tools/list later in the same chunk is still answered here.
      later = true;
    }
  }

  function onData(chunk) {
    chunks.push(chunk);
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    for (let i; (i = pending.indexOf(10)) >= 0;) {
      const line = pending.subarray(0, i).toString('utf8');
      pending = pending.subarray(i + 1);
      if (line.trim()) onMessage(line);
    }
    if (later) handOver();
  }

  function onEnd() {
    ended = true;
    handOver();
  }

  function handOver() {
    if (handed) return;
    handed = true;
    clearTimeout(timer);
    process.stdin.off('data', onData);
    process.stdin.off('end', onEnd);
    process.stdin.pause();
    const input = new PassThrough();
    for (const c of chunks) input.write(c);
    if (ended) input.end();
    else process.stdin.pipe(input);
    // After the answers above are on their way out: the bundle blocks this thread while it loads.
    setImmediate(() =>
      runBundle({ input, answered }).catch((e) => {
        process.stderr.write(`tabcrew: ${e.message}\n`);
        process.exit(1);
      }),
    );
  }

  process.stdin.on('data', onData);
  process.stdin.on('end', onEnd);
}
