/**
 * A throw-away HOME for running the real Claude Code CLI (2.1.197, or TABCREW_TEST_CLAUDE) in tests, with
 * `$HOME/.claude.json` pre-seeded so no first-run screen appears:
 * - `hasCompletedOnboarding: true`            → no theme / onboarding screens
 * - `customApiKeyResponses.approved: [last 20 chars of the key]`
 *                                             → no "Detected a custom API key" prompt
 * - `projects[dir].hasTrustDialogAccepted`    → no trust dialog in `trustedDirs`
 *   (an entry covers its subdirectories)
 * The real ~/.claude.json and ~/.claude are never read or written.
 */
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Absolute path of the Claude Code CLI the tests run: the devDependency, or another install
 * named by TABCREW_TEST_CLAUDE (scripts/test-claude-versions.mjs sets it for each version).
 */
export const claudeBin = process.env.TABCREW_TEST_CLAUDE ? resolve(process.env.TABCREW_TEST_CLAUDE) : join(repoRoot, 'node_modules', '.bin', 'claude');

export interface ClaudeHome {
  /** The temp HOME (realpath). */
  home: string;
  /** Complete environment to start Claude Code with. */
  env: Record<string, string>;
  /**
   * Removes HOME. Pass the pids of Claude Code processes that used it (e.g. tmux
   * `#{pane_pid}`): cleanup waits for them to end first (up to 10 s).
   */
  cleanup(pids?: number[]): void;
}

export interface ClaudeHomeOptions {
  apiKey: string;
  baseUrl: string;
  trustedDirs?: string[];
  /** Extra keys merged into `.claude.json`. */
  extraConfig?: Record<string, unknown>;
  /** A HOME that has never run Claude Code: no `.claude.json` (nor `.claude/`) at all. */
  neverRun?: boolean;
}

/** Developer variables that must not leak into a test's Claude Code. */
function isLeakyVar(name: string): boolean {
  return /^(ANTHROPIC_|CLAUDE_|CLAUDECODE$|AWS_BEARER_TOKEN_BEDROCK$|OTEL_|MCP_|TMUX$|TMUX_PANE$)/.test(name);
}

export function makeClaudeHome(opts: ClaudeHomeOptions): ClaudeHome {
  const home = realpathSync(mkdtempSync(join(tmpdir(), 'tabcrew-claude-home-')));
  const projects: Record<string, unknown> = {};
  for (const d of opts.trustedDirs ?? []) {
    let p = resolve(d);
    try {
      p = realpathSync(p);
    } catch {
      /* not created yet: keep as given */
    }
    projects[p] = { hasTrustDialogAccepted: true, allowedTools: [] };
  }
  const config = {
    hasCompletedOnboarding: true,
    lastOnboardingVersion: '2.1.197',
    numStartups: 1,
    customApiKeyResponses: { approved: [opts.apiKey.slice(-20)], rejected: [] },
    projects,
    ...opts.extraConfig,
  };
  if (!opts.neverRun) writeFileSync(join(home, '.claude.json'), JSON.stringify(config, null, 2));

  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !isLeakyVar(k)) env[k] = v;
  }
  Object.assign(env, {
    HOME: home,
    ANTHROPIC_BASE_URL: opts.baseUrl,
    ANTHROPIC_API_KEY: opts.apiKey,
    IS_SANDBOX: '1',
    DISABLE_AUTOUPDATER: '1',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
  });
  if (!env.TERM || env.TERM === 'dumb') env.TERM = 'xterm-256color';

  return {
    home,
    env,
    cleanup(pids: number[] = []) {
      // Killing a pane does not stop Claude Code at once: after SIGHUP it went on writing
      // in HOME for ~2 s (2.1.197), and would re-create files removed meanwhile. So first
      // wait (up to 10 s) for the given processes to end, then remove, retrying.
      const deadline = Date.now() + 10_000;
      const nap = () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
      const alive = (pid: number) => {
        try {
          process.kill(pid, 0);
          return true;
        } catch (err) {
          return (err as NodeJS.ErrnoException).code === 'EPERM';
        }
      };
      while (pids.some(alive) && Date.now() < deadline) nap();
      for (;;) {
        try {
          rmSync(home, { recursive: true, force: true });
          return;
        } catch (err) {
          if (Date.now() > deadline) throw err;
          nap();
        }
      }
    },
  };
}
