/**
 * `osascript -l JavaScript FILE [ARG…]` against the emulated iTerm2: runs FILE's
 * `run(argv)` in a vm context with the JXA globals of jxa.mjs, prints the result on stdout
 * and fails as osascript does: `FILE: execution error: MESSAGE (NUMBER)` on stderr, exit 1.
 *
 * Emulator controls (not osascript's):
 *   osascript --emulator-quit [--stay-down]   iTerm2 quits: every session dies, the model is emptied
 *   osascript --emulator-reset                 kill the tmux server and delete the state
 *   osascript --emulator-state                 print the state file
 *   osascript --emulator-set JSON              merge JSON into the state (faults, app, mode)
 * Environment: TABCREW_EMULATOR_STATE (state file), TABCREW_EMULATOR_TMUX (tmux -L socket),
 * TABCREW_EMULATOR_MODE (not_running | denied | quit), TABCREW_EMULATOR_LOG (one JSON line
 * per run: {script, arg}).
 */
import { appendFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import vm from 'node:vm';

import { NotModeled, Runtime } from './jxa.mjs';
import { AppleEventError, MESSAGES, Model, sleepMs } from './model.mjs';

export function main(argv) {
  try {
    process.exitCode = dispatch(argv);
  } catch (err) {
    process.stderr.write(`osascript emulator: ${err?.stack ?? err}\n`);
    process.exitCode = 2;
  }
}

function dispatch(argv) {
  const env = process.env;
  if (argv[0]?.startsWith('--emulator-')) return control(argv, env);
  if (argv[0] !== '-l' || argv[1] !== 'JavaScript' || argv.length < 3) {
    process.stderr.write('usage: osascript -l JavaScript FILE [ARG ...]   (this is the tabcrew iTerm2 emulator)\n');
    return 1;
  }
  const [file, ...args] = argv.slice(2);
  if (env.TABCREW_EMULATOR_LOG) appendFileSync(env.TABCREW_EMULATOR_LOG, `${JSON.stringify({ script: file, arg: args[0] ?? null })}\n`);
  let source;
  try {
    source = readFileSync(file, 'utf8');
  } catch {
    process.stderr.write(`osascript: ${file}: No such file or directory\n`);
    return 1;
  }

  const model = new Model(env);
  model.lock();
  let out;
  try {
    model.load();
    const fault = takeFault(model);
    if (fault) model.save(); // taken even if this run is killed while it hangs
    if (fault?.hangMs) sleepMs(fault.hangMs);
    if (fault?.code !== undefined) {
      return fail(file, describe({ errorNumber: fault.code, message: fault.message ?? MESSAGES[fault.code] }), fault.code);
    }
    if (model.modeIs('quit')) {
      model.quit();
      if (model.state.mode === 'quit') model.state.mode = null;
    }
    if (model.state.app.launching > 0 && model.isRunning()) {
      // still launching: this run's events fail with -600, a later one's may not
      model.state.app.launching--;
      model.launchingNow = true;
    }
    model.reconcile();
    model.absorbOutput();
    const runtime = new Runtime(model);
    try {
      out = runScript(runtime, file, source, args);
    } finally {
      model.save();
    }
  } catch (err) {
    return fail(file, describe(err), err?.errorNumber ?? -2700);
  } finally {
    model.unlock();
  }
  if (out !== undefined) process.stdout.write(`${out}\n`);
  return 0;
}

function runScript(runtime, file, source, args) {
  const context = vm.createContext(runtime.globals());
  const script = new vm.Script(source, { filename: file });
  const completion = script.runInContext(context, { timeout: 600_000 });
  const result = typeof context.run === 'function' ? context.run(vm.runInContext('[]', context).concat(args)) : completion;
  return formatResult(result);
}

/** osascript's human-readable result: text as it is, lists joined by ", ". */
function formatResult(v) {
  if (v === undefined) return undefined;
  if (Array.isArray(v)) return v.map(formatResult).join(', ');
  return String(v);
}

/**
 * osascript prints a JXA error as "Error: " + String(error): an Apple event error reads
 * `Error: Error: Can't get object.`, a script's own `TypeError: …` reads `Error: TypeError: …`.
 */
function describe(err) {
  if (err instanceof AppleEventError || err instanceof NotModeled || typeof err?.errorNumber === 'number') {
    return `Error: Error: ${err.message}`;
  }
  if (err && typeof err === 'object' && 'name' in err && 'message' in err) {
    const line = /:(\d+)(?::\d+)?\)?$/m.exec(
      String(err.stack ?? '')
        .split('\n')
        .find((l) => l.includes('.js:')) ?? '',
    );
    const where = err.name === 'SyntaxError' && line ? `Error on line ${line[1]}` : 'Error';
    return `${where}: ${err.name}: ${err.message}`;
  }
  return `Error: ${String(err)}`;
}

function fail(file, message, number) {
  process.stderr.write(`${file}: execution error: ${message} (${number})\n`);
  return 1;
}

function takeFault(model) {
  const faults = model.state.faults ?? [];
  const fault = faults[0];
  if (!fault) return undefined;
  fault.times = (fault.times ?? 1) - 1;
  if (fault.times <= 0) faults.shift();
  return fault;
}

function control(argv, env) {
  const model = new Model(env);
  const cmd = argv[0];
  if (cmd === '--emulator-reset') {
    model.quit();
    // tmux leaves its socket file behind when the server exits.
    rmSync(join(env.TMUX_TMPDIR || '/tmp', `tmux-${process.getuid?.() ?? 0}`, model.socket), { force: true });
    rmSync(model.path, { force: true });
    rmSync(`${model.path}.lock`, { recursive: true, force: true });
    return 0;
  }
  model.lock();
  try {
    model.load();
    if (cmd === '--emulator-quit') {
      model.quit({ stayDown: argv.includes('--stay-down') });
    } else if (cmd === '--emulator-state') {
      model.reconcile();
      model.absorbOutput();
      process.stdout.write(`${JSON.stringify(model.state, null, 1)}\n`);
    } else if (cmd === '--emulator-set') {
      const patch = JSON.parse(argv[1] ?? '{}');
      model.state = { ...model.state, ...patch, app: { ...model.state.app, ...(patch.app ?? {}) } };
    } else {
      process.stderr.write(`osascript emulator: unknown control ${cmd}\n`);
      return 1;
    }
    model.save();
  } finally {
    model.unlock();
  }
  return existsSync(model.path) ? 0 : 1;
}
