/**
 * The world every end-to-end file builds around the real Claude Code: a HOME whose Claude
 * Code talks to the mock Messages API, and a teardown in the order that leaves nothing
 * running (tabcrew first, so no agent is relaunched against a closed mock; HOME last, once
 * the agents that used it are gone).
 */
import { rmSync } from 'node:fs';
import { makeClaudeHome, type ClaudeHome, type ClaudeHomeOptions } from './claude-home.js';
import type { MockAnthropic } from './mock-anthropic.js';
import type { Crew } from './tabcrew.js';

/** The API key the mock accepts: fake, and long enough for Claude Code's approval list. */
export const TEST_API_KEY = 'sk-ant-test-0123456789abcdefghij';

/** A HOME for Claude Code against `mock`, with `trustedDirs` (and their subdirectories) trusted. */
export function mockedHome(mock: MockAnthropic, trustedDirs: string[], extraConfig?: ClaudeHomeOptions['extraConfig']): ClaudeHome {
  return makeClaudeHome({ apiKey: TEST_API_KEY, baseUrl: mock.url, trustedDirs, ...(extraConfig ? { extraConfig } : {}) });
}

/** Stops the crews, then the mock, then removes HOME and `dirs`; any part may be missing (a failed beforeAll). */
export async function tearDown(crews: (Crew | undefined)[], mock: MockAnthropic | undefined, home: ClaudeHome | undefined, ...dirs: string[]): Promise<void> {
  for (const crew of crews) await crew?.stop();
  await mock?.close();
  home?.cleanup();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}
