import { chmodSync, readdirSync, statSync } from 'node:fs';
import { defaultConfig, type Config } from '../config.js';

export type PrivateDir = 'state dir' | 'log dir' | 'runtime dir';

/** Names tabcrew writes in each dir: a dir holding only these (or nothing) is evidently its own. */
const OWN_NAMES: Record<PrivateDir, RegExp> = {
  'state dir': /^(state\..*|\.gitkeep)$/,
  'log dir': /^(tabcrew.*\.log|audit.*|\.gitkeep)$/,
  'runtime dir': /^(agents|launch|paste|hooks?|locks|tabcrew\.sock|.*\.json|\.gitkeep)$/,
};

export function privateDirs(config: Config): Array<{ name: PrivateDir; dir: string; flag: string }> {
  return [
    { name: 'state dir', dir: config.stateDir, flag: '--state-dir' },
    { name: 'log dir', dir: config.logDir, flag: '--log-dir' },
    { name: 'runtime dir', dir: config.runtimeDir, flag: '--runtime-dir' },
  ];
}

/**
 * Whether tabcrew may chmod `dir` to 0700 without asking: the package's own state/, logs/ or
 * runtime/ (a fresh clone makes them 0755), or a dir that holds nothing but tabcrew's files.
 * Anything else is left alone: `--log-dir /tmp` must never chmod /tmp.
 */
export function mayTighten(name: PrivateDir, dir: string, defaults: Config = defaultConfig()): boolean {
  const own = { 'state dir': defaults.stateDir, 'log dir': defaults.logDir, 'runtime dir': defaults.runtimeDir }[name];
  if (dir === own) return true;
  try {
    return readdirSync(dir).every((n) => OWN_NAMES[name].test(n));
  } catch {
    return false;
  }
}

/**
 * Makes the state, log and runtime dirs 0700 when they are open to others and evidently
 * tabcrew's; returns a notice (what to run) for each open dir it left alone. Missing dirs are
 * not created here: the code that writes them creates them 0700.
 */
export function tightenPrivateDirs(config: Config, defaults: Config = defaultConfig()): string[] {
  if (process.platform === 'win32') return [];
  const notices: string[] = [];
  for (const { name, dir, flag } of privateDirs(config)) {
    let mode: number;
    try {
      mode = statSync(dir).mode & 0o777;
    } catch {
      continue;
    }
    if ((mode & 0o077) === 0) continue;
    if (mayTighten(name, dir, defaults)) {
      chmodSync(dir, mode & 0o700);
    } else {
      notices.push(
        `The ${name} ${dir} is open to other users (mode ${mode.toString(8)}) and holds files tabcrew did not make, so its mode was left alone. ` +
          `Run chmod 700 ${dir}, or give tabcrew a dir of its own with ${flag}.`,
      );
    }
  }
  return notices;
}
