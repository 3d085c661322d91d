import { dirname } from 'node:path';
import { readClaudeConfig, type ClaudeConfig } from './claude-config.js';

/**
 * Whether Claude Code already trusts `root` (its folder-trust dialog was accepted for it or
 * for a parent: an entry covers its subdirectories). Read from Claude Code's own config;
 * unknown counts as untrusted.
 */
export async function isTrusted(root: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  return trustedIn(await readClaudeConfig(env), root);
}

/** isTrusted, on a config already read. */
export function trustedIn(config: ClaudeConfig | undefined, root: string): boolean {
  const projects = config?.projects ?? {};
  for (let dir = root; ; dir = dirname(dir)) {
    if (projects[dir]?.hasTrustDialogAccepted) return true;
    if (dirname(dir) === dir) return false;
  }
}
