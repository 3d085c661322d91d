import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * Whether Claude Code already trusts `root` (its folder-trust dialog was accepted for it or
 * for a parent: an entry covers its subdirectories). Read from Claude Code's own config,
 * never written: Claude Code rewrites that file while it runs. Unknown counts as untrusted.
 */
export async function isTrusted(root: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  const file = env.CLAUDE_CONFIG_DIR ? join(env.CLAUDE_CONFIG_DIR, '.claude.json') : join(env.HOME ?? '', '.claude.json');
  let projects: Record<string, { hasTrustDialogAccepted?: boolean }>;
  try {
    projects = (JSON.parse(await readFile(file, 'utf8')) as { projects?: typeof projects }).projects ?? {};
  } catch {
    return false;
  }
  for (let dir = root; ; dir = dirname(dir)) {
    if (projects[dir]?.hasTrustDialogAccepted) return true;
    if (dirname(dir) === dir) return false;
  }
}
