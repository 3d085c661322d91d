import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CLI, TEST_STATE_KEY } from '../support/tabcrew.js';

export const REPO = resolve(import.meta.dirname, '../..');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The environment of a test run: a throw-away HOME, no TABCREW_* from the caller's shell,
 * and the state key the test servers use (test/support/tabcrew.ts).
 */
export function testEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('TABCREW_')) env[k] = v;
  return { ...env, HOME: home, TABCREW_STATE_KEY: TEST_STATE_KEY, ...extra };
}

/** Runs the built CLI to its end (bounded), from the repository root; never throws on a non-zero exit. */
export function runCli(args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((done, fail) => {
    const withKey = { TABCREW_STATE_KEY: TEST_STATE_KEY, ...env };
    const child = execFile(process.execPath, [CLI, ...args], { cwd: REPO, env: withKey, timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return fail(new Error(`tabcrew ${args.join(' ')} did not finish: ${err.message}\n${stderr}`));
      done({ code: err ? (err.code as unknown as number) : 0, stdout, stderr });
    });
    child.stdin?.end();
  });
}

/** Private state/log/runtime dirs and a tmux socket of its own, as CLI flags. */
export function isolated(base = mkdtempSync(join(tmpdir(), 'tabcrew-cli-'))): { base: string; socket: string; flags: string[] } {
  const socket = `tabcrew-cli-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  return {
    base,
    socket,
    flags: ['--state-dir', join(base, 'state'), '--log-dir', join(base, 'logs'), '--runtime-dir', join(base, 'runtime'), '--tmux-socket', socket],
  };
}
