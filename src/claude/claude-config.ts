import { randomBytes } from 'node:crypto';
import { link, readFile, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import lockfile from 'proper-lockfile';

/**
 * Claude Code's own config file (`~/.claude.json`, or `$CLAUDE_CONFIG_DIR/.claude.json`):
 * where it records what the person answered in its first-run dialogs. tabcrew reads it to
 * know which dialog an agent will meet, and writes into it only what the person's API key
 * settles: the key's approval and, with it, a finished first-run setup (see settleFirstRun).
 */
export function claudeConfigFile(env: NodeJS.ProcessEnv): string {
  return env.CLAUDE_CONFIG_DIR ? join(env.CLAUDE_CONFIG_DIR, '.claude.json') : join(env.HOME ?? '', '.claude.json');
}

export type ClaudeConfig = Record<string, unknown> & {
  hasCompletedOnboarding?: boolean;
  lastOnboardingVersion?: string;
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

/** How Claude Code's first-run setup stands after settleFirstRun: absent when tabcrew left it alone. */
export type OnboardingOutcome = 'already_completed' | 'completed_by_tabcrew';

export interface FirstRunSettled {
  /** The key's status after the call. */
  status: ApiKeyStatus;
  /** This call approved the key. */
  approvedNow: boolean;
  /** Set when the key is approved and completeOnboarding was asked for. */
  onboarding?: OnboardingOutcome;
  /** This call created the config file (a HOME that never ran Claude Code). */
  created?: boolean;
}

/**
 * Records the key of `env` as approved, exactly as Claude Code does when the person answers
 * Yes (its tail appended to `customApiKeyResponses.approved`), so no agent stops at the
 * question. Only a `new` key: a key the person refused stays refused.
 *
 * With `completeOnboarding`, and once the key is approved, also records Claude Code's
 * first-run setup as finished the way Claude Code does at its end (`hasCompletedOnboarding:
 * true`, `lastOnboardingVersion: <its version>`): with an approved key that setup asks
 * nothing an agent needs (a theme, the sign-in it skips after a Yes to the key, security
 * notes), yet it stops every agent, and offline it ends Claude Code at a connectivity check
 * of api.anthropic.com. Only missing keys are written. A HOME that never ran Claude Code
 * (no config file) gets a config holding just these keys; Claude Code adds its own at start.
 *
 * Claude Code rewrites the file while it runs; it does so under a proper-lockfile lock at
 * `<file>.lock` and re-reads the file under it, so tabcrew takes the same lock, re-reads, and
 * replaces the file atomically. A config that is unreadable is left alone, and a missing one
 * is only created for completeOnboarding.
 */
export async function settleFirstRun(
  env: NodeJS.ProcessEnv,
  opts: { completeOnboarding?: { version: () => Promise<string | undefined> } } = {},
): Promise<FirstRunSettled> {
  const file = claudeConfigFile(env);
  const before = await readConfigFile(file);
  const status = apiKeyStatusIn(before.config, env);
  const needed = (f: ConfigFile) => {
    const s = apiKeyStatusIn(f.config, env);
    if (f.state === 'unreadable' || s === 'none' || s === 'rejected') return false;
    if (f.state === 'missing') return !!opts.completeOnboarding;
    return s === 'new' || (!!opts.completeOnboarding && f.config?.hasCompletedOnboarding !== true);
  };
  if (!needed(before)) return unchanged(before, status, opts);
  // Asked before the lock: Claude Code's own writes wait for it.
  const version =
    opts.completeOnboarding && before.config?.hasCompletedOnboarding !== true ? await opts.completeOnboarding.version().catch(() => undefined) : undefined;
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(file, { lockfilePath: `${file}.lock`, realpath: false, retries: { retries: 20, minTimeout: 50, maxTimeout: 500 } });
  } catch {
    return unchanged(before, status, opts);
  }
  try {
    const now = await readConfigFile(file);
    if (!needed(now)) return unchanged(now, apiKeyStatusIn(now.config, env), opts);
    const config: ClaudeConfig = now.config ?? {};
    const approvedNow = apiKeyStatusIn(config, env) === 'new';
    if (approvedNow) {
      const responses = config.customApiKeyResponses ?? {};
      const approved = Array.isArray(responses.approved) ? responses.approved : [];
      const rejected = Array.isArray(responses.rejected) ? responses.rejected : [];
      config.customApiKeyResponses = { ...responses, approved: [...approved, apiKeyTail(env.ANTHROPIC_API_KEY!)], rejected };
    }
    let onboarding: OnboardingOutcome | undefined;
    if (opts.completeOnboarding) {
      onboarding = config.hasCompletedOnboarding === true ? 'already_completed' : 'completed_by_tabcrew';
      if (config.hasCompletedOnboarding !== true) {
        config.hasCompletedOnboarding = true;
        if (version && config.lastOnboardingVersion === undefined) config.lastOnboardingVersion = version;
      }
    }
    const text = JSON.stringify(config, null, 2);
    if (now.state === 'missing') await createFile(file, text);
    else await replaceFile(file, text);
    return { status: 'approved', approvedNow, ...(onboarding ? { onboarding } : {}), ...(now.state === 'missing' ? { created: true } : {}) };
  } finally {
    await release().catch(() => undefined);
  }
}

/** settleFirstRun without the setup: the API key question alone. */
export async function approveApiKey(env: NodeJS.ProcessEnv): Promise<{ status: ApiKeyStatus; approvedNow: boolean }> {
  const { status, approvedNow } = await settleFirstRun(env);
  return { status, approvedNow };
}

function unchanged(f: ConfigFile, status: ApiKeyStatus, opts: { completeOnboarding?: unknown }): FirstRunSettled {
  const done = opts.completeOnboarding && status === 'approved' && f.config?.hasCompletedOnboarding === true;
  return { status, approvedNow: false, ...(done ? { onboarding: 'already_completed' as const } : {}) };
}

interface ConfigFile {
  state: 'ok' | 'missing' | 'unreadable';
  config?: ClaudeConfig;
}

async function readConfigFile(file: string): Promise<ConfigFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    return { state: (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'unreadable' };
  }
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? { state: 'ok', config: parsed as ClaudeConfig } : { state: 'unreadable' };
  } catch {
    return { state: 'unreadable' };
  }
}

/** A new config, private as Claude Code makes it (0600), appearing whole or not at all. */
async function createFile(file: string, text: string): Promise<void> {
  const tmp = join(dirname(file), `.${basename(file)}.tabcrew-${randomBytes(6).toString('hex')}`);
  try {
    await writeFile(tmp, text, { mode: 0o600, flag: 'wx' });
    // link, not rename: a config that appeared meanwhile (a Claude Code that ignored the lock) is never replaced.
    await link(tmp, file).catch(async (e: NodeJS.ErrnoException) => {
      // A file system without hard links: the lock is all there is.
      if (e.code === 'EEXIST') throw e;
      await rename(tmp, file);
    });
  } finally {
    await rm(tmp, { force: true });
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
