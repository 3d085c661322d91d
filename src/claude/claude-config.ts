import { randomBytes } from 'node:crypto';
import { readFile, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import lockfile from 'proper-lockfile';

/**
 * Claude Code's own config file (`~/.claude.json`, or `$CLAUDE_CONFIG_DIR/.claude.json`):
 * where it records what the person answered in its first-run dialogs. tabcrew reads it to
 * know which dialog an agent will meet, and writes one thing into it: the approval of the
 * API key the person gave tabcrew (see approveApiKey).
 */
export function claudeConfigFile(env: NodeJS.ProcessEnv): string {
  return env.CLAUDE_CONFIG_DIR ? join(env.CLAUDE_CONFIG_DIR, '.claude.json') : join(env.HOME ?? '', '.claude.json');
}

export type ClaudeConfig = Record<string, unknown> & {
  hasCompletedOnboarding?: boolean;
  customApiKeyResponses?: { approved?: unknown; rejected?: unknown };
  projects?: Record<string, { hasTrustDialogAccepted?: boolean }>;
};

/** The file's content, or undefined when it is missing or not a JSON object. */
export async function readClaudeConfig(env: NodeJS.ProcessEnv): Promise<ClaudeConfig | undefined> {
  try {
    const parsed: unknown = JSON.parse(await readFile(claudeConfigFile(env), 'utf8'));
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as ClaudeConfig) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * How Claude Code names an API key in `customApiKeyResponses`: its last 20 characters after
 * trimming (2.1.197 and 2.1.332; the key itself is never stored there).
 */
export function apiKeyTail(key: string): string {
  return key.trim().slice(-20);
}

/**
 * What Claude Code will do with `ANTHROPIC_API_KEY` of `env`:
 * - `none`: there is no key;
 * - `approved`: it uses the key without asking;
 * - `rejected`: the person answered No once; it does not ask again and does not use the key;
 * - `new`: it stops at "Detected a custom API key in your environment … Do you want to use this
 *   API key?", default No, before its input box, and no hook runs meanwhile.
 */
export type ApiKeyStatus = 'none' | 'approved' | 'rejected' | 'new';

export function apiKeyStatusIn(config: ClaudeConfig | undefined, env: NodeJS.ProcessEnv): ApiKeyStatus {
  const key = env.ANTHROPIC_API_KEY;
  if (!key?.trim()) return 'none';
  const tail = apiKeyTail(key);
  const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
  const responses = config?.customApiKeyResponses;
  if (list(responses?.approved).includes(tail)) return 'approved';
  if (list(responses?.rejected).includes(tail)) return 'rejected';
  return 'new';
}

export async function apiKeyStatus(env: NodeJS.ProcessEnv): Promise<ApiKeyStatus> {
  return apiKeyStatusIn(await readClaudeConfig(env), env);
}

/** Whether Claude Code's first-run setup (theme, sign-in, security notes) was completed under this HOME. */
export async function onboardingDone(env: NodeJS.ProcessEnv): Promise<boolean> {
  return (await readClaudeConfig(env))?.hasCompletedOnboarding === true;
}

/**
 * Records the key of `env` as approved, exactly as Claude Code does when the person answers
 * Yes (its tail appended to `customApiKeyResponses.approved`), so no agent stops at the
 * question. Only a `new` key: a key the person refused stays refused. Claude Code rewrites the
 * file while it runs; it does so under a proper-lockfile lock at `<file>.lock` and re-reads the
 * file under it, so tabcrew takes the same lock, re-reads, and replaces the file atomically.
 * A config that is missing or unreadable is left alone (Claude Code's own setup comes first).
 * Returns the key's status after the call, and whether this call approved it.
 */
export async function approveApiKey(env: NodeJS.ProcessEnv): Promise<{ status: ApiKeyStatus; approvedNow: boolean }> {
  const file = claudeConfigFile(env);
  const before = await apiKeyStatus(env);
  if (before !== 'new') return { status: before, approvedNow: false };
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(file, { lockfilePath: `${file}.lock`, realpath: false, retries: { retries: 20, minTimeout: 50, maxTimeout: 500 } });
  } catch {
    return { status: 'new', approvedNow: false };
  }
  try {
    const config = await readClaudeConfig(env);
    const status = apiKeyStatusIn(config, env);
    if (!config || status !== 'new') return { status, approvedNow: false };
    const responses = config.customApiKeyResponses ?? {};
    const approved = Array.isArray(responses.approved) ? responses.approved : [];
    const rejected = Array.isArray(responses.rejected) ? responses.rejected : [];
    config.customApiKeyResponses = { ...responses, approved: [...approved, apiKeyTail(env.ANTHROPIC_API_KEY!)], rejected };
    await replaceFile(file, JSON.stringify(config, null, 2));
    return { status: 'approved', approvedNow: true };
  } finally {
    await release().catch(() => undefined);
  }
}

/**
 * Writes beside the file, then renames over it: a reader never sees half a config. Keeps the
 * file's mode, and a symlinked config (dotfiles) stays a symlink: its target is replaced.
 */
async function replaceFile(link: string, text: string): Promise<void> {
  const file = await realpath(link);
  const mode = (await stat(file)).mode & 0o777;
  const tmp = join(dirname(file), `.${basename(file)}.tabcrew-${randomBytes(6).toString('hex')}`);
  try {
    await writeFile(tmp, text, { mode, flag: 'wx' });
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
