import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { classifyScreen, findInputBox } from '../../src/claude/screen.js';
import { accountOf, limitHitIn } from '../../src/claude/usage-limit.js';

const fixtures = join(__dirname, '..', 'fixtures');
const transcript = (name: string): string => readFileSync(join(fixtures, 'transcripts', name), 'utf8');
const screen = (name: string): string => readFileSync(join(fixtures, 'screens', name), 'utf8');

describe('usage limits in what Claude Code 2.1.332 writes', () => {
  it("a subscription's usage limit is read from the transcript with its exact reset", () => {
    expect(limitHitIn(transcript('usage_limit_2.1.332.jsonl'))).toEqual({ kind: 'usage_limit', resetsAt: 1796541088_000, limitType: 'five_hour' });
  });

  it('a plain 429 is a rate limit with no reset time', () => {
    expect(limitHitIn(transcript('api_error_429_2.1.332.jsonl'))).toEqual({ kind: 'rate_limit' });
  });

  it('a turn that was answered, or a limit followed by a new prompt, is no limit', () => {
    expect(limitHitIn(transcript('rich-session.jsonl'))).toBeUndefined();
    const next = JSON.stringify({ type: 'user', message: { role: 'user', content: 'go on' } });
    expect(limitHitIn(`${transcript('usage_limit_2.1.332.jsonl')}${next}\n`)).toBeUndefined();
  });

  it('the screens after a limit are idle with an empty input box (the "Resend" placeholder is not text)', () => {
    for (const f of ['usage_limit_2.1.332.txt', 'api_error_429_2.1.332.txt']) {
      expect(classifyScreen(screen(f))).toBe('idle');
      expect(findInputBox(screen(f))?.text).toBe('');
    }
  });
});

describe('the account agents share', () => {
  const token = 'sk-ant-oat01-secret-secret-secret';
  it('is a fingerprint of the credential, never the credential', () => {
    const a = accountOf({ CLAUDE_CODE_OAUTH_TOKEN: token, ANTHROPIC_BASE_URL: 'http://x' });
    expect(a).toEqual({ id: expect.stringMatching(/^acct-[0-9a-f]{12}$/), kind: 'oauth_token' });
    expect(JSON.stringify(a)).not.toContain('secret');
    expect(accountOf({ CLAUDE_CODE_OAUTH_TOKEN: token, ANTHROPIC_BASE_URL: 'http://x' }).id).toBe(a.id);
    expect(accountOf({ CLAUDE_CODE_OAUTH_TOKEN: `${token}2`, ANTHROPIC_BASE_URL: 'http://x' }).id).not.toBe(a.id);
  });

  it("follows Claude Code's choice of credential: OAuth token, bearer token, API key, else its login", () => {
    expect(accountOf({ ANTHROPIC_AUTH_TOKEN: 'a.b.c' }).kind).toBe('auth_token');
    expect(accountOf({ ANTHROPIC_API_KEY: 'sk-ant-x' }).kind).toBe('api_key');
    expect(accountOf({ HOME: '/home/x' }).kind).toBe('login');
  });
});
