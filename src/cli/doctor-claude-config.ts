import { apiKeyStatus, claudeConfigFile, onboardingDone } from '../claude/claude-config.js';
import type { Check } from './doctor-check.js';

/**
 * What Claude Code will ask every agent before its input box, read from its own config: its
 * first-run setup, and the API key question. Warned here so the person hears of it before
 * the first agent does (docs/troubleshooting.md).
 */
export async function checkClaudeFirstRun(env: NodeJS.ProcessEnv): Promise<Check[]> {
  const file = claudeConfigFile(env);
  const checks: Check[] = [];
  const key = await apiKeyStatus(env);
  if (await onboardingDone(env)) {
    checks.push({ check: 'claude setup', status: 'ok', detail: `first-run setup completed (${file})` });
  } else if (key === 'new' || key === 'approved') {
    checks.push({
      check: 'claude setup',
      status: 'ok',
      detail:
        `Claude Code's first-run setup was never completed for this user (${file}); tabcrew serve records it as completed, ` +
        'with ANTHROPIC_API_KEY approved, before its first agent (unless --no-accept-api-key)',
    });
  } else {
    checks.push({
      check: 'claude setup',
      status: 'warn',
      detail: `Claude Code's first-run setup was never completed for this user (${file}): every agent would stop at it`,
      fix:
        key === 'none'
          ? 'run `claude` once in a terminal and finish it (theme, sign-in, security notes); or give tabcrew an API key (ANTHROPIC_API_KEY): tabcrew serve then completes it'
          : 'run `claude` once in a terminal and finish it (theme, sign-in or API key, security notes)',
    });
  }
  if (key === 'none') {
    checks.push({ check: 'claude api key', status: 'n/a', detail: 'no ANTHROPIC_API_KEY here: agents use your Claude login' });
  } else if (key === 'approved') {
    checks.push({ check: 'claude api key', status: 'ok', detail: `ANTHROPIC_API_KEY is approved in ${file}` });
  } else if (key === 'rejected') {
    checks.push({
      check: 'claude api key',
      status: 'warn',
      detail: `ANTHROPIC_API_KEY was refused in Claude Code before (${file}): agents will not use it`,
      fix: 'to use it, run `claude`, then /config → "Use custom API key" → true; to use your Claude login, remove ANTHROPIC_API_KEY from tabcrew\'s environment',
    });
  } else {
    checks.push({
      check: 'claude api key',
      status: 'warn',
      detail: `Claude Code has not approved ANTHROPIC_API_KEY yet (${file}): it asks "Do you want to use this API key?" (default No) before an agent's input box`,
      fix: 'tabcrew serve approves it there before its first agent starts (unless --no-accept-api-key); or run `claude` once yourself and choose Yes',
    });
  }
  return checks;
}
