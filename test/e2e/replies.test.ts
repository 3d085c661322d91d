import { mkdirSync, mkdtempSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claudeBin, makeClaudeHome } from '../support/claude-home.js';
import { mockedHome, tearDown } from '../support/e2e-world.js';
import { isConversationRequest, startMockAnthropic, type MockAnthropic } from '../support/mock-anthropic.js';
import { startTabcrew, type Crew } from '../support/tabcrew.js';

/**
 * Delivery no longer waits a fixed pause before Enter: it presses Enter once the input box
 * shows the text. Twenty prompts in a row to one real Claude Code, each with
 * wait_for_reply, must each come back confirmed with their own reply.
 */
const base = realpathSync(mkdtempSync(join(tmpdir(), 'tabcrew-replies-')));
const root = join(base, 'app');
let mock: MockAnthropic;
let home: ReturnType<typeof makeClaudeHome>;
let crew: Crew;

beforeAll(async () => {
  mkdirSync(root);
  mock = await startMockAnthropic();
  mock.setReply((req) => {
    if (!isConversationRequest(req)) return 'side';
    const m = /turn (\d+)/.exec(mock.lastUserText(req) ?? '');
    return `reply to turn ${m?.[1] ?? '?'}`;
  });
  home = mockedHome(mock, [root]);
  crew = await startTabcrew({ env: home.env, args: ['--claude-path', claudeBin, '--rate-limit-burst', '30'] });
  await crew.ok('create_session', { root, name: 'app' });
  await crew.ok('create_agent', { session: 'app' });
});

afterAll(() => tearDown([crew], mock, home, base));

describe('replies', () => {
  it('twenty prompts in a row with wait_for_reply each return confirmed with their own reply', async () => {
    for (let i = 1; i <= 20; i++) {
      const r = await crew.ok('send_message_to_agent', { agent: 'Agent_1', message: `turn ${i}: answer briefly`, wait_for_reply: true, timeout_s: 60 });
      expect(r, `turn ${i}`).toMatchObject({ delivered: 'confirmed', reply: `reply to turn ${i}` });
    }
  });
});
