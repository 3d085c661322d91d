import { describe, expect, it } from 'vitest';
import { firstRunDialogProblem } from '../../src/claude/first-run.js';

const context = { root: '/w/app', configFile: '/h/.claude.json', acceptApiKey: true, hasApiKey: true };

describe("the error for Claude Code's first-run setup", () => {
  it('tells a person without an API key that the setup needs their sign-in, or a key', () => {
    const text = firstRunDialogProblem('onboarding', { ...context, hasApiKey: false });
    expect(text).toMatch(/without ANTHROPIC_API_KEY in tabcrew's environment it needs your sign-in/);
    expect(text).toMatch(/Fix: run `claude` once in a terminal, finish the setup \(sign in\).*or give tabcrew an API key/);
  });

  it('under --no-accept-api-key, names the flag and what tabcrew does without it', () => {
    const text = firstRunDialogProblem('onboarding', { ...context, acceptApiKey: false });
    expect(text).toMatch(/leaves it to you \(serve --no-accept-api-key\)/);
    expect(text).toMatch(/restart tabcrew without --no-accept-api-key \(with the key approved it records the setup as completed in \/h\/\.claude\.json\)/);
  });

  it('with a key tabcrew could not approve, says why the setup was not recorded', () => {
    expect(firstRunDialogProblem('onboarding', context)).toMatch(/only with ANTHROPIC_API_KEY approved, and could not \(a key you refused/);
  });
});
