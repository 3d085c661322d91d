import { isAbsolute, resolve } from 'node:path';
import { defaultConfig, type Config } from '../config.js';

/**
 * The log dir of a state nobody gave a --log-dir for: the package's logs/ for the package's
 * own state, `<state dir>-logs` beside any other. The audit chain is keyed by its state's
 * audit key, so two states in one log dir would make each other's records look forged.
 */
export function defaultLogDirFor(stateDir: string, defaults: Config = defaultConfig()): string {
  const dir = resolve(stateDir);
  return dir === defaults.stateDir ? defaults.logDir : `${dir}-logs`;
}

/**
 * Fills in what the state dir decides: the log dir when none was given, and a line on stderr
 * when a relative state dir was resolved against the current directory (an MCP client's
 * current directory is rarely where the person thinks).
 */
export function withStateDirs(config: Config, given: { stateDir?: unknown; logDir?: unknown }, stderr = process.stderr): Config {
  const { stateDir, logDir } = given;
  if (typeof stateDir === 'string' && !isAbsolute(stateDir) && !stateDir.startsWith('~')) {
    stderr.write(`tabcrew: the state dir "${stateDir}" is relative to the current directory: using ${config.stateDir}\n`);
  }
  return logDir === undefined ? { ...config, logDir: defaultLogDirFor(config.stateDir) } : config;
}
