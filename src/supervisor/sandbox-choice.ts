import { sandboxMode, type Config } from '../config.js';
import type { AgentSandboxSetup } from '../claude/launch.js';
import { chooseSandbox } from '../claude/sandbox-host.js';
import { parseSharedPath, sharedPathProblem } from '../claude/sandbox.js';
import { defaultKeyFile } from '../store/keys.js';
import { existsSync } from 'node:fs';
import { UserError } from './errors.js';

/**
 * The supervisor's rule on OS sandboxes (claude/sandbox.ts): which one agents get under
 * --sandbox, refusing a launch when `on` cannot be kept, and which paths a caller may share.
 */
export function sandboxSetup(config: Config, env: NodeJS.ProcessEnv): AgentSandboxSetup | undefined {
  const choice = chooseSandbox(sandboxMode(config), { program: config.sandboxProgram, env });
  if (choice.refusal) throw new UserError(choice.refusal);
  if (!choice.kind || !choice.program) return undefined;
  return {
    kind: choice.kind,
    program: choice.program,
    stateDir: config.stateDir,
    logDir: config.logDir,
    keyFile: config.keyFile ?? defaultKeyFile(env),
    allow: config.sandboxAllow,
  };
}

/** Said when a read-only role's agent starts without the OS sandbox: only Claude Code's rules hold it then. */
export const READ_ONLY_UNBOXED =
  "Its role is read-only, but it runs without the OS sandbox (--sandbox off, or none here): Claude Code's rules refuse file edits and the usual writing commands, not a redirection (echo x > f) or a script. Run tabcrew with --sandbox on for a read-only root.";

/** Refuses, before anything is created, an agent the sandbox rules would not let start. */
export function checkSandbox(config: Config, env: NodeJS.ProcessEnv, extraPaths: string[] = []): void {
  sandboxSetup(config, env);
  const own = { stateDir: config.stateDir, logDir: config.logDir, runtimeDir: config.runtimeDir, keyFile: config.keyFile ?? defaultKeyFile(env) };
  for (const spec of config.sandboxAllow) checkShared(spec, '--sandbox-allow', own);
  for (const spec of extraPaths) checkShared(spec, 'sandbox_extra_paths', own);
}

function checkShared(spec: string, what: string, own: Parameters<typeof sharedPathProblem>[1]): void {
  let path: string;
  try {
    path = parseSharedPath(spec).path;
  } catch (e) {
    throw new UserError(`${what}: ${(e as Error).message}; give absolute paths (DIR, or DIR:rw to share it read-write). Nothing was created.`);
  }
  const problem = sharedPathProblem(path, own);
  if (problem) throw new UserError(`${what}: ${problem} Nothing was created.`);
  if (!existsSync(path)) throw new UserError(`${what}: ${path} does not exist; nothing was created.`);
  if (path === '/') throw new UserError(`${what}: / would show the whole file system; share the folders the agent needs. Nothing was created.`);
}
