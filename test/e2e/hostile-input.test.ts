import fc from 'fast-check';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTabcrew, type Crew } from '../support/tabcrew.js';

/**
 * Generated hostile tool calls against the real server over stdio. Agents cannot start
 * here (no Claude Code on the path given), so every call exercises validation, policy and
 * lookup — the code that must never crash on what a client sends.
 */
const base = realpathSync(mkdtempSync(join(tmpdir(), 'tabcrew-hostile-')));
let crew: Crew;

const TOOLS = [
  'create_session',
  'list_sessions',
  'get_session_status',
  'delete_session',
  'create_agent',
  'delete_agent',
  'send_message_to_agent',
  'get_agent_output',
  'clear_agent_conversation',
  'start_new_agent_conversation',
  'recover_session',
  'list_pending_permissions',
  'decide_permission',
  'list_pending_requests',
  'answer_request',
  'resume_agent',
  'wake_agent',
  'list_messages',
  'list_roles',
  'coordinate_agents',
  'get_coordination',
  'cancel_coordination',
  'get_agent_changes',
  'merge_agent_work',
  'list_merges',
];

const nasty = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.constantFrom(
    '',
    '\u0000',
    'a\u0000b',
    '\u001b[201~\u001b[31mred\u0007',
    '\u001b]0;title\u0007',
    '\u202eevil\u202c',
    'e\u0301\u0301\u0301',
    'שלום مرحبا',
    '../../etc',
    './relative',
    '~',
    '/',
    '/etc',
    '$(rm -rf /)',
    '`id`;',
    'Agent_1',
    'Agent_0',
    'Agent_999999999',
    's-00000000',
    '%5',
    '@1',
    '#{pane_id}',
    '\r\n\r\n',
  ),
);
const path = fc.oneof(
  nasty,
  fc.constantFrom(join(base, 'real'), join(base, 'link'), join(base, 'real', '..', 'real'), join(base, 'missing'), join(base, 'real', 'sub')),
);
const value = fc.oneof(nasty, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(nasty, { maxLength: 3 }), fc.object({ maxDepth: 2 }));
const args = fc.oneof(
  fc.record(
    {
      root: path,
      name: nasty,
      session: nasty,
      agent: nasty,
      message: nasty,
      role: nasty,
      model: nasty,
      permission_mode: fc.oneof(nasty, fc.constantFrom('acceptEdits', 'bypassPermissions', 'plan')),
      initial_task: nasty,
      lines: value,
      timeout_s: value,
      wait_for_reply: value,
      dry_run: value,
      confirm: nasty,
    },
    { requiredKeys: [] },
  ),
  fc.dictionary(fc.string(), value, { maxKeys: 4 }),
);

beforeAll(async () => {
  mkdirSync(join(base, 'real', 'sub'), { recursive: true });
  symlinkSync(join(base, 'real'), join(base, 'link'));
  // Kept away from the generated calls, which may claim `real` as a root.
  mkdirSync(join(base, 'quiet'));
  symlinkSync(join(base, 'quiet'), join(base, 'quiet-link'));
  crew = await startTabcrew({
    env: { ...process.env, HOME: join(base, 'home') } as Record<string, string>,
    args: ['--claude-path', join(base, 'no-claude-here'), '--max-sessions', '1000', '--rate-limit-burst', '1000000'],
  });
});
afterAll(async () => {
  await crew?.stop();
  rmSync(base, { recursive: true, force: true });
});

describe('hostile input', () => {
  it('10,000 generated tool calls: no crash, and every refusal says what to fix', async () => {
    const internal: string[] = [];
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.constantFrom(...TOOLS), fc.string()), args, async (tool, input) => {
        const r = await crew.call(tool, input as Record<string, unknown>);
        expect(Array.isArray(r.content)).toBe(true);
        if (r.isError) {
          const text = (r.content as { text: string }[])[0]?.text ?? '';
          expect(text.length).toBeGreaterThan(10);
          // "<tool> failed: …" is the wrapper's word for an unexpected exception: a bug.
          if (text.startsWith(`${tool} failed:`)) internal.push(`${tool} ${JSON.stringify(input).slice(0, 200)} → ${text}`);
        }
      }),
      { numRuns: 10_000 },
    );
    expect(internal).toEqual([]);
    // Still alive and answering.
    expect((await crew.client.listTools()).tools.length).toBe(TOOLS.length);
    expect(crew.stderr()).not.toMatch(/Unhandled|TypeError|RangeError/);
  });

  it('a 1 MB message and a 1 MB root are refused with a clear message', async () => {
    const mb = 'x'.repeat(1024 * 1024);
    const m = await crew.call('send_message_to_agent', { agent: 'Agent_1', message: mb });
    expect((m.content as { text: string }[])[0].text).toMatch(/limit is 102400/);
    const r = await crew.call('create_session', { root: `/${mb}` });
    expect(r.isError).toBe(true);
  });

  it('a root given through a symlink or `..` is the same root as its realpath', async () => {
    const s = await crew.ok('create_session', { root: join(base, 'quiet-link', '..', 'quiet-link'), name: 'via-link' });
    expect(s.root).toBe(join(base, 'quiet'));
    const again = await crew.call('create_session', { root: join(base, 'quiet', '..', 'quiet') });
    expect((again.content as { text: string }[])[0].text).toMatch(/is the root of session "via-link"/);
  });
});
