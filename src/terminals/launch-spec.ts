/**
 * The hand-off from tabcrew to `scripts/launch-tab.sh`.
 *
 * Claude Code's argv holds a multi-KB system prompt and its environment can be large,
 * while a terminal's command line is small (tmux sends a whole command in one message
 * of about 16 KB) and visible to other users in `ps`. So a tab's command is the constant
 * launcher plus a private directory that holds the real argv, environment and cwd.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { packageRoot } from '../config.js';

export interface LaunchSpec {
  cwd: string;
  argv: readonly string[];
  env: Readonly<Record<string, string>>;
}

/**
 * Writes `spec` to a new 0700 directory under `<runtimeDir>/launch/` and returns its path.
 * Files (0600): `argv` and `env` (`KEY=VALUE`), each entry NUL-terminated; `cwd`, raw.
 * The launcher deletes the directory once it has read it.
 */
export async function writeLaunchSpec(runtimeDir: string, spec: LaunchSpec): Promise<string> {
  return writeLaunchSpecSync(runtimeDir, spec);
}

/** Removes a spec whose tab never started, so its environment (API keys) does not linger. */
export async function removeLaunchSpec(specDir: string): Promise<void> {
  await rm(specDir, { recursive: true, force: true });
}

/**
 * Removes specs older than `maxAgeMs`. The launcher reads its spec within moments, so an
 * old one belongs to a tab that was closed (or failed) before its launcher ran, and
 * would otherwise keep that tab's environment on disk.
 */
export async function sweepLaunchSpecs(runtimeDir: string, maxAgeMs: number): Promise<void> {
  const parent = join(runtimeDir, 'launch');
  let names: string[];
  try {
    names = await readdir(parent);
  } catch {
    return;
  }
  const cutoff = Date.now() - maxAgeMs;
  for (const name of names) {
    if (!name.startsWith('tab-')) continue;
    const dir = join(parent, name);
    try {
      if ((await stat(dir)).mtimeMs < cutoff) await rm(dir, { recursive: true, force: true });
    } catch {
      // already taken by its launcher
    }
  }
}

/**
 * writeLaunchSpec, here and now: three small private files, so that tabs asked for together
 * (a recovery's sixteen) have their specs at once and reach the terminal together, instead of
 * each waiting its turn on the thread pool every file write of their launches shares.
 */
export function writeLaunchSpecSync(runtimeDir: string, spec: LaunchSpec): string {
  checkSpec(spec);
  const parent = join(runtimeDir, 'launch');
  mkdirSync(parent, { recursive: true, mode: 0o700 });
  const dir = mkdtempSync(join(parent, 'tab-')); // mkdtemp creates it 0700
  try {
    const write = (name: string, data: string) => writeFileSync(join(dir, name), data, { mode: 0o600, flag: 'wx' });
    write('cwd', spec.cwd);
    write('argv', spec.argv.map((a) => `${a}\0`).join(''));
    write(
      'env',
      Object.entries(spec.env)
        .map(([k, v]) => `${k}=${v}\0`)
        .join(''),
    );
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return dir;
}

function checkSpec(spec: LaunchSpec): void {
  // A C string ends at NUL, so a value holding one would reach the program cut short.
  const noNul = (what: string, value: string) => {
    if (value.includes('\0')) throw new Error(`${what} contains a NUL character, which a program cannot receive`);
  };
  if (!spec.cwd.startsWith('/')) throw new Error(`working directory must be an absolute path, got ${JSON.stringify(spec.cwd)}`);
  noNul('working directory', spec.cwd);
  if (spec.argv.length === 0 || spec.argv[0] === '') throw new Error('argv must name a program to run');
  spec.argv.forEach((a, i) => noNul(`argv[${i}]`, a));
  for (const [key, value] of Object.entries(spec.env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new Error(`environment variable name ${JSON.stringify(key)} is not a valid name (letters, digits, _)`);
    }
    noNul(`environment variable ${key}`, value);
  }
}

/** Absolute path of `scripts/launch-tab.sh` in the package (from src/, dist/ or a bundle). */
export function launcherPath(): string {
  const launcher = join(packageRoot(), 'scripts', 'launch-tab.sh');
  if (!existsSync(launcher)) throw new Error(`the tab launcher ${launcher} is missing; reinstall tabcrew`);
  return launcher;
}
