import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/**
 * The Claude Code releases tabcrew's e2e scenario (test/e2e/agents.test.ts, recovery.test.ts
 * and first-run.test.ts, real CLI against the mock API) passed on, oldest first; what differs
 * between them is in docs/claude-code-facts.md. `npm run test:claude-versions` runs the
 * scenario on each; CI runs the last one. Add a version here only after it passed there.
 */
export const VERIFIED_CLAUDE_CODE_VERSIONS = ['2.1.197', '2.1.332'] as const;

/** The version number in `claude --version` output ("2.1.332 (Claude Code)"), if any. */
export function parseClaudeVersion(output: string): string | undefined {
  return /\b(\d+\.\d+\.\d+)\b/.exec(output)?.[1];
}

export function isVerifiedClaudeVersion(version: string): boolean {
  return (VERIFIED_CLAUDE_CODE_VERSIONS as readonly string[]).includes(version);
}

/** The version `claudePath --version` reports, or undefined when it does not answer within 10 s. */
export async function installedClaudeVersion(claudePath: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  try {
    const { stdout } = await execFileAsync(claudePath, ['--version'], { env, timeout: 10_000, encoding: 'utf8' });
    return parseClaudeVersion(stdout);
  } catch {
    return undefined;
  }
}
