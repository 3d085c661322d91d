import { describe, expect, it } from 'vitest';
import { permissionModeFor, checkRoot, denyRulesFor, needsConfirmation, TOOL_RISK } from '../../src/supervisor/policy.js';
import { RateLimiter } from '../../src/supervisor/rate-limit.js';

const home = '/home/ana';
const at = (level: 'LOW' | 'MEDIUM' | 'HIGH', extra = {}) => ({ level, allowBypass: false, allowedRoots: [] as string[], home, ...extra });

describe('security level LOW', () => {
  it('accepts any existing directory as a root and bypass modes', () => {
    for (const r of ['/', home, '/etc', '/usr']) expect(() => checkRoot(r, at('LOW'))).not.toThrow();
    expect(() => permissionModeFor('bypassPermissions', at('LOW'))).not.toThrow();
    expect(denyRulesFor(['/w/other'], at('LOW'))).toEqual([]);
  });
});

describe('security level MEDIUM', () => {
  it('refuses /, the home directory itself and system directories, saying what to do', () => {
    expect(() => checkRoot('/', at('MEDIUM'))).toThrow(/filesystem root.*--security-level LOW/);
    expect(() => checkRoot(home, at('MEDIUM'))).toThrow(/home directory itself/);
    for (const r of ['/etc', '/etc/nginx', '/usr/bin', '/usr', '/var', '/System/Library', '/proc/1']) {
      expect(() => checkRoot(r, at('MEDIUM')), r).toThrow(/system directory/);
    }
  });

  it('accepts a codebase anywhere else, temp and /usr/local included', () => {
    for (const r of [`${home}/code/app`, '/tmp/x', '/usr/local/src/app', '/private/var/folders/ab/T/x', '/root/app', '/opt/app']) {
      expect(() => checkRoot(r, at('MEDIUM')), r).not.toThrow();
    }
  });

  it('allows bypassPermissions only with --allow-bypass', () => {
    expect(() => permissionModeFor('bypassPermissions', at('MEDIUM'))).toThrow(/--allow-bypass/);
    expect(() => permissionModeFor('bypassPermissions', at('MEDIUM', { allowBypass: true }))).not.toThrow();
    expect(() => permissionModeFor('acceptEdits', at('MEDIUM'))).not.toThrow();
  });

  it("leaves an absent permission mode absent, so the person's Claude Code settings decide", () => {
    expect(permissionModeFor(undefined, at('MEDIUM'))).toBeUndefined();
    expect(permissionModeFor('auto', at('MEDIUM'))).toBe('auto');
  });

  it("denies agents Claude Code's file tools in other sessions' roots", () => {
    expect(denyRulesFor(['/w/other'], at('MEDIUM'))).toEqual(['Read(//w/other/**)', 'Edit(//w/other/**)']);
    // The rule syntax cannot say these names literally; the PreToolUse hook covers them.
    expect(denyRulesFor(['/w/app[1]', '/w/a)b', '/w/x*'], at('MEDIUM'))).toEqual([]);
  });
});

describe('security level HIGH', () => {
  it('requires roots under an --allowed-root', () => {
    expect(() => checkRoot('/w/app', at('HIGH'))).toThrow(/--allowed-root/);
    expect(() => checkRoot('/w/app', at('HIGH', { allowedRoots: ['/w'] }))).not.toThrow();
    expect(() => checkRoot('/w2/app', at('HIGH', { allowedRoots: ['/w'] }))).toThrow(/not under an allowed root \(\/w\)/);
  });

  it('never allows bypass, even with --allow-bypass', () => {
    expect(() => permissionModeFor('bypassPermissions', at('HIGH', { allowBypass: true }))).toThrow(/never allowed/);
  });

  it("never lets Claude Code's classifier approve calls: auto is refused and no mode given means default", () => {
    expect(() => permissionModeFor('auto', at('HIGH'))).toThrow(/auto is never allowed.*acceptEdits or default/);
    expect(permissionModeFor(undefined, at('HIGH'))).toBe('default');
    expect(permissionModeFor('acceptEdits', at('HIGH'))).toBe('acceptEdits');
  });

  it('asks confirmation for HIGH-risk tools only', () => {
    expect(
      Object.entries(TOOL_RISK)
        .filter(([t]) => needsConfirmation(t, 'HIGH'))
        .map(([t]) => t)
        .sort(),
    ).toEqual(['answer_request', 'create_agent', 'decide_permission', 'delete_agent', 'delete_session', 'merge_agent_work']);
    expect(needsConfirmation('delete_agent', 'MEDIUM')).toBe(false);
  });
});

describe('rate limits on messages', () => {
  it('allow a burst, then refuse saying when to retry, and refill with time', () => {
    let now = 0;
    const rl = new RateLimiter(2, 6, () => now);
    rl.take('Agent_1', 'send_message_to_agent');
    rl.take('Agent_1', 'send_message_to_agent');
    expect(() => rl.take('Agent_1', 'send_message_to_agent')).toThrow(/Retry in 10 s/);
    rl.take('Agent_2', 'send_message_to_agent');
    now += 10_000;
    expect(() => rl.take('Agent_1', 'send_message_to_agent')).not.toThrow();
  });
});
