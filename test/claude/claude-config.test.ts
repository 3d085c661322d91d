import { lstatSync, mkdtempSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { afterEach, describe, expect, it } from 'vitest';
import { apiKeyStatus, apiKeyTail, approveApiKey, claudeConfigFile, onboardingDone, settleFirstRun } from '../../src/claude/claude-config.js';

const KEY = 'sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789';
const homes: string[] = [];
afterEach(() => {
  for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
});

function home(config?: unknown): { HOME: string; ANTHROPIC_API_KEY: string } {
  const h = mkdtempSync(join(tmpdir(), 'tabcrew-claude-config-'));
  homes.push(h);
  if (config !== undefined) writeFileSync(join(h, '.claude.json'), JSON.stringify(config), { mode: 0o600 });
  return { HOME: h, ANTHROPIC_API_KEY: KEY };
}
const read = (env: { HOME: string }) => JSON.parse(readFileSync(join(env.HOME, '.claude.json'), 'utf8'));

describe("Claude Code's API key approval", () => {
  it('names a key by its last 20 characters after trimming, as Claude Code does', () => {
    expect(apiKeyTail(` ${KEY}\n`)).toBe('qrstuvwxyz0123456789'.slice(-20));
    expect(apiKeyTail(KEY)).toHaveLength(20);
  });

  it('tells none, new, approved and rejected apart', async () => {
    expect(await apiKeyStatus({ HOME: home({}).HOME })).toBe('none');
    expect(await apiKeyStatus(home({}))).toBe('new');
    expect(await apiKeyStatus(home({ customApiKeyResponses: { approved: [apiKeyTail(KEY)], rejected: [] } }))).toBe('approved');
    expect(await apiKeyStatus(home({ customApiKeyResponses: { approved: [], rejected: [apiKeyTail(KEY)] } }))).toBe('rejected');
  });

  it('approves a new key the way Claude Code records a Yes, keeping everything else in the file and its mode', async () => {
    const env = home({ hasCompletedOnboarding: true, projects: { '/w': { hasTrustDialogAccepted: true } }, customApiKeyResponses: { approved: ['other'] } });
    expect(await approveApiKey(env)).toEqual({ status: 'approved', approvedNow: true });
    const after = read(env);
    expect(after.customApiKeyResponses).toEqual({ approved: ['other', apiKeyTail(KEY)], rejected: [] });
    expect(after.projects).toEqual({ '/w': { hasTrustDialogAccepted: true } });
    expect(after.hasCompletedOnboarding).toBe(true);
    expect(statSync(join(env.HOME, '.claude.json')).mode & 0o777).toBe(0o600);
    expect(JSON.stringify(after)).not.toContain(KEY);
    // Once is enough.
    expect(await approveApiKey(env)).toEqual({ status: 'approved', approvedNow: false });
    expect(read(env).customApiKeyResponses.approved).toHaveLength(2);
  });

  it('never overrides a key the person refused, and never creates a config Claude Code has not made', async () => {
    const refused = home({ customApiKeyResponses: { approved: [], rejected: [apiKeyTail(KEY)] } });
    expect(await approveApiKey(refused)).toEqual({ status: 'rejected', approvedNow: false });
    expect(read(refused).customApiKeyResponses.approved).toEqual([]);
    const none = home();
    expect(await approveApiKey(none)).toEqual({ status: 'new', approvedNow: false });
    expect(() => statSync(join(none.HOME, '.claude.json'))).toThrow();
  });

  it("waits for Claude Code's own config lock (<file>.lock, proper-lockfile) before writing", async () => {
    const env = home({ numStartups: 3 });
    const file = claudeConfigFile(env);
    const release = await lockfile.lock(file, { lockfilePath: `${file}.lock`, realpath: false });
    const approving = approveApiKey(env);
    await new Promise((r) => setTimeout(r, 300));
    expect(read(env).customApiKeyResponses).toBeUndefined();
    // What Claude Code writes under its lock is kept: tabcrew re-reads under the lock.
    writeFileSync(file, JSON.stringify({ numStartups: 4 }));
    await release();
    expect(await approving).toEqual({ status: 'approved', approvedNow: true });
    expect(read(env)).toEqual({ numStartups: 4, customApiKeyResponses: { approved: [apiKeyTail(KEY)], rejected: [] } });
  });

  it('keeps a symlinked config a symlink, and follows CLAUDE_CONFIG_DIR', async () => {
    const env = home();
    const real = join(env.HOME, 'dotfiles');
    mkdirSync(real);
    writeFileSync(join(real, 'claude.json'), '{}');
    symlinkSync(join(real, 'claude.json'), join(env.HOME, '.claude.json'));
    expect((await approveApiKey(env)).approvedNow).toBe(true);
    expect(lstatSync(join(env.HOME, '.claude.json')).isSymbolicLink()).toBe(true);
    expect(JSON.parse(readFileSync(join(real, 'claude.json'), 'utf8')).customApiKeyResponses.approved).toEqual([apiKeyTail(KEY)]);

    const configDir = { ...home(), CLAUDE_CONFIG_DIR: real };
    expect(claudeConfigFile(configDir)).toBe(join(real, '.claude.json'));
  });

  it('reads whether the first-run setup was completed', async () => {
    expect(await onboardingDone(home())).toBe(false);
    expect(await onboardingDone(home({ hasCompletedOnboarding: false }))).toBe(false);
    expect(await onboardingDone(home({ hasCompletedOnboarding: true }))).toBe(true);
  });
});

describe("Claude Code's first-run setup, completed with the person's API key", () => {
  const completeOnboarding = { version: async () => '2.1.332' };

  it('a HOME that never ran Claude Code gets a private config holding just a finished setup and the approved key', async () => {
    const env = home();
    expect(await settleFirstRun(env, { completeOnboarding })).toEqual({
      status: 'approved',
      approvedNow: true,
      onboarding: 'completed_by_tabcrew',
      created: true,
    });
    // Exactly what Claude Code writes at the end of its setup, and for a Yes to the key.
    expect(read(env)).toEqual({
      customApiKeyResponses: { approved: [apiKeyTail(KEY)], rejected: [] },
      hasCompletedOnboarding: true,
      lastOnboardingVersion: '2.1.332',
    });
    expect(statSync(join(env.HOME, '.claude.json')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(env.HOME, '.claude.json'), 'utf8')).not.toContain(KEY);
    expect(await settleFirstRun(env, { completeOnboarding })).toEqual({ status: 'approved', approvedNow: false, onboarding: 'already_completed' });
  });

  it('adds only the missing keys to a config Claude Code made, keeping the rest and a version it recorded', async () => {
    const env = home({ numStartups: 2, lastOnboardingVersion: '2.1.197', customApiKeyResponses: { approved: [apiKeyTail(KEY)], rejected: [] } });
    expect(await settleFirstRun(env, { completeOnboarding })).toEqual({ status: 'approved', approvedNow: false, onboarding: 'completed_by_tabcrew' });
    expect(read(env)).toEqual({
      numStartups: 2,
      lastOnboardingVersion: '2.1.197',
      hasCompletedOnboarding: true,
      customApiKeyResponses: { approved: [apiKeyTail(KEY)], rejected: [] },
    });
  });

  it('leaves the setup to the person without a key, with a key they refused, or a config it cannot read; and only when asked', async () => {
    const keyless = { HOME: home().HOME };
    expect(await settleFirstRun(keyless, { completeOnboarding })).toEqual({ status: 'none', approvedNow: false });
    expect(() => statSync(join(keyless.HOME, '.claude.json'))).toThrow();

    const refused = home({ customApiKeyResponses: { approved: [], rejected: [apiKeyTail(KEY)] } });
    expect(await settleFirstRun(refused, { completeOnboarding })).toEqual({ status: 'rejected', approvedNow: false });
    expect(read(refused).hasCompletedOnboarding).toBeUndefined();

    const broken = home();
    writeFileSync(join(broken.HOME, '.claude.json'), '{ "numStartups": ');
    expect(await settleFirstRun(broken, { completeOnboarding })).toEqual({ status: 'new', approvedNow: false });
    expect(readFileSync(join(broken.HOME, '.claude.json'), 'utf8')).toBe('{ "numStartups": ');

    const keyOnly = home({});
    expect(await settleFirstRun(keyOnly)).toEqual({ status: 'approved', approvedNow: true });
    expect(read(keyOnly).hasCompletedOnboarding).toBeUndefined();
  });

  it("creates the config under Claude Code's lock, and never over one Claude Code wrote meanwhile", async () => {
    const env = home();
    const file = claudeConfigFile(env);
    const release = await lockfile.lock(file, { lockfilePath: `${file}.lock`, realpath: false });
    const settling = settleFirstRun(env, { completeOnboarding });
    await new Promise((r) => setTimeout(r, 300));
    expect(() => statSync(file)).toThrow();
    writeFileSync(file, JSON.stringify({ firstStartTime: 'now' }), { mode: 0o600 });
    await release();
    expect(await settling).toMatchObject({ approvedNow: true, onboarding: 'completed_by_tabcrew' });
    expect(read(env)).toMatchObject({ firstStartTime: 'now', hasCompletedOnboarding: true });
  });

  it('records no version when Claude Code does not tell its own', async () => {
    const env = home();
    await settleFirstRun(env, { completeOnboarding: { version: async () => undefined } });
    expect(read(env)).toEqual({ customApiKeyResponses: { approved: [apiKeyTail(KEY)], rejected: [] }, hasCompletedOnboarding: true });
  });
});
