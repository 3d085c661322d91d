import { dirname } from 'node:path';
import { readClaudeConfig } from './claude-config.js';

/**
 * Whether Claude Code already trusts `root` (its folder-trust dialog was accepted for it or
 * for a parent: an entry covers its subdirectories). Read from Claude Code's own config;
 * unknown counts as untrusted.
 */
export async function isTrusted(root: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  const projects = (await readClaudeConfig(env))?.projects ?? {};
  for (let dir = root; ; dir = dirname(dir)) {
    if (projects[dir]?.hasTrustDialogAccepted) return true;
    if (dirname(dir) === dir) return false;
  }
}
