import { describe, expect, it } from 'vitest';
import { bwrapArgv, parseSharedPath, sandboxPaths, sandboxRules, sharedPathProblem, type SandboxInput, type SandboxRule } from '../../src/claude/sandbox.js';
import { seatbeltArgv, seatbeltProfile } from '../../src/claude/sandbox-seatbelt.js';

const input = (over: Partial<SandboxInput> = {}): SandboxInput => ({
  root: '/home/u/code/app',
  claudeSessionId: 'c0ffee00-0000-4000-8000-000000000001',
  home: '/home/u',
  claudeConfigDir: '/home/u/.claude',
  claudeConfigFile: '/home/u/.claude.json',
  agentDir: '/opt/tabcrew/runtime/agents/c0ffee00-0000-4000-8000-000000000001',
  sharedDir: '/opt/tabcrew/runtime/shared',
  runtimeDir: '/opt/tabcrew/runtime',
  stateDir: '/opt/tabcrew/state',
  logDir: '/opt/tabcrew/logs',
  keyFile: '/home/u/.config/tabcrew/state.key',
  system: [{ path: '/usr' }, { path: '/bin', target: 'usr/bin' }, { path: '/etc' }, { path: '/opt' }],
  programs: ['/home/u/.nvm/versions/node/v22.1.0', '/opt/tabcrew'],
  shared: [],
  ...over,
});

/** What the rule list shows at `path`: the deepest rule at or above it decides (sandbox.ts header). */
function access(rules: SandboxRule[], path: string): SandboxRule['access'] | 'absent' {
  let found: SandboxRule | undefined;
  for (const r of rules) if (path === r.path || path.startsWith(r.path + '/')) found = r;
  return found?.access ?? 'absent';
}

describe('sandboxRules', () => {
  const { rules, cwd } = sandboxRules(input());

  it('shows the own root read-write and starts there', () => {
    expect(cwd).toBe('/home/u/code/app');
    expect(access(rules, '/home/u/code/app/src/x.ts')).toBe('write');
  });

  it('shows no other project: not a sibling of the root, not HOME, not one created later', () => {
    expect(access(rules, '/home/u/code/other/secret.txt')).toBe('empty');
    expect(access(rules, '/home/u/code/created-later')).toBe('empty');
    expect(access(rules, '/home/u/.ssh/id_ed25519')).toBe('empty');
    // Outside the system list nothing is shown at all: /srv, /mnt, /work…
    expect(access(rules, '/srv/projects/b')).toBe('absent');
    expect(access(rules, '/mnt/data')).toBe('absent');
  });

  it("hides tabcrew's state, logs, runtime dir and key file even inside a folder shown read-only", () => {
    expect(access(rules, '/opt/tabcrew/dist/hook.js')).toBe('read');
    expect(access(rules, '/opt/tabcrew/state/state.json')).toBe('empty');
    expect(access(rules, '/opt/tabcrew/logs/audit-1.jsonl')).toBe('empty');
    expect(access(rules, '/opt/tabcrew/runtime/launch/tab-1/env')).toBe('empty');
    expect(access(rules, '/opt/tabcrew/runtime/agents/someone-else/agent-secret')).toBe('empty');
    expect(access(rules, '/home/u/.config/tabcrew/state.key')).toBe('empty');
  });

  it('shows its own runtime folder read-write and the shared folder (socket, boundaries) read-only', () => {
    expect(access(rules, '/opt/tabcrew/runtime/agents/c0ffee00-0000-4000-8000-000000000001/events.jsonl')).toBe('write');
    expect(access(rules, '/opt/tabcrew/runtime/shared/tabcrew.sock')).toBe('read');
  });

  it("shows Claude Code's config read-write but only this agent's conversations of it", () => {
    expect(access(rules, '/home/u/.claude.json')).toBe('write');
    expect(access(rules, '/home/u/.claude/settings.json')).toBe('write');
    expect(access(rules, '/home/u/.claude/projects/-home-u-code-app/c0ffee00-0000-4000-8000-000000000001.jsonl')).toBe('write');
    expect(access(rules, '/home/u/.claude/projects/-home-u-code-other/x.jsonl')).toBe('empty');
    expect(access(rules, '/home/u/.claude/file-history/c0ffee00-0000-4000-8000-000000000001/a@v1')).toBe('write');
    expect(access(rules, '/home/u/.claude/file-history/another-session/a@v1')).toBe('empty');
    for (const p of ['todos/x.json', 'plans/p.md', 'sessions/1.json', 'history.jsonl']) expect(access(rules, `/home/u/.claude/${p}`), p).toBe('empty');
  });

  it('gives a private /tmp and shows the system read-only, links as links', () => {
    expect(access(rules, '/tmp/tmux-1000/default')).toBe('empty');
    expect(access(rules, '/usr/bin/git')).toBe('read');
    expect(rules.find((r) => r.path === '/bin')).toMatchObject({ access: 'link', target: 'usr/bin' });
  });

  it('orders every rule after the rules of the folders above it', () => {
    rules.forEach((r, i) => {
      for (const later of rules.slice(i + 1)) expect(r.path.startsWith(later.path + '/'), `${r.path} before ${later.path}`).toBe(false);
    });
  });

  it("a worktree agent writes its worktree and the repository's .git, and only reads the main checkout", () => {
    const w = sandboxRules(input({ worktree: '/home/u/code/app/.tabcrew/worktrees/Agent_2', gitCommonDir: '/home/u/code/app/.git' }));
    expect(w.cwd).toBe('/home/u/code/app/.tabcrew/worktrees/Agent_2');
    expect(access(w.rules, '/home/u/code/app/.tabcrew/worktrees/Agent_2/src/a.ts')).toBe('write');
    expect(access(w.rules, '/home/u/code/app/src/a.ts')).toBe('read');
    expect(access(w.rules, '/home/u/code/app/.tabcrew/worktrees/Agent_3/src/a.ts')).toBe('read');
    expect(access(w.rules, '/home/u/code/app/.git/objects/ab')).toBe('write');
    expect(access(w.rules, '/home/u/.claude/projects/-home-u-code-app--tabcrew-worktrees-Agent-2/x.jsonl')).toBe('write');
  });

  it('a read-only role sees its root, worktree and .git read-only, and still writes its own conversation and runtime folder', () => {
    const ro = sandboxRules(input({ readOnly: true }));
    expect(access(ro.rules, '/home/u/code/app/src/x.ts')).toBe('read');
    expect(access(ro.rules, '/home/u/.claude/projects/-home-u-code-app/c0ffee00-0000-4000-8000-000000000001.jsonl')).toBe('write');
    expect(access(ro.rules, `${input().agentDir}/events.jsonl`)).toBe('write');
    const w = sandboxRules(input({ readOnly: true, worktree: '/home/u/code/app/.tabcrew/worktrees/Agent_2', gitCommonDir: '/home/u/code/app/.git' }));
    expect(access(w.rules, '/home/u/code/app/.tabcrew/worktrees/Agent_2/src/a.ts')).toBe('read');
    expect(access(w.rules, '/home/u/code/app/.git/objects/ab')).toBe('read');
    expect(sandboxPaths(ro).write).not.toContain('/home/u/code/app');
    expect(sandboxPaths(ro).read).toContain('/home/u/code/app');
  });

  it("keeps the agent's settings file (its permission rules) read-only inside its writable runtime folder", () => {
    expect(access(rules, `${input().agentDir}/settings.json`)).toBe('read');
    expect(access(rules, `${input().agentDir}/settings.json.tmp`)).toBe('write');
  });

  it('adds what the person shares, and never lets it uncover tabcrew', () => {
    const s = sandboxRules(
      input({ shared: [parseSharedPath('/home/u/.npm:rw'), parseSharedPath('/home/u/.gitconfig'), parseSharedPath('/opt/tabcrew/state:rw')] }),
    );
    expect(access(s.rules, '/home/u/.npm/_cacache/x')).toBe('write');
    expect(access(s.rules, '/home/u/.gitconfig')).toBe('read');
    expect(access(s.rules, '/opt/tabcrew/state/state.json')).toBe('empty');
    expect(sandboxPaths(s).write).toContain('/home/u/.npm');
    expect(sandboxPaths(s).read).not.toContain('/usr');
  });

  it('refuses relative paths and control characters', () => {
    expect(() => sandboxRules(input({ root: 'code/app' }))).toThrow(/not an absolute path/);
    expect(() => sandboxRules(input({ root: '/home/u/a\nb' }))).toThrow(/control character/);
    expect(() => parseSharedPath('~/.npm')).toThrow(/not an absolute path/);
  });

  it('says why a shared path inside tabcrew is refused', () => {
    const own = { stateDir: '/s', logDir: '/l', runtimeDir: '/r', keyFile: '/k/state.key' };
    expect(sharedPathProblem('/s/x', own)).toMatch(/tabcrew's state dir/);
    expect(sharedPathProblem('/r', own)).toMatch(/runtime dir/);
    expect(sharedPathProblem('/srv/cache', own)).toBeUndefined();
  });
});

describe('bwrapArgv', () => {
  it('builds argv elements only, in rule order, ending with the command after --', () => {
    const r = sandboxRules(input({ root: "/home/u/code/it's a $(root) -- x" }));
    const argv = bwrapArgv('/usr/bin/bwrap', r, ['/opt/claude', '--name', 'Agent_1']);
    expect(argv.slice(0, 9)).toEqual([
      '/usr/bin/bwrap',
      '--die-with-parent',
      '--unshare-pid',
      '--unshare-ipc',
      '--share-net',
      '--proc',
      '/proc',
      '--dev',
      '/dev',
    ]);
    expect(argv.slice(-6)).toEqual(['--chdir', "/home/u/code/it's a $(root) -- x", '--', '/opt/claude', '--name', 'Agent_1']);
    const i = argv.indexOf("/home/u/code/it's a $(root) -- x");
    expect(argv.slice(i - 1, i + 2)).toEqual(['--bind', "/home/u/code/it's a $(root) -- x", "/home/u/code/it's a $(root) -- x"]);
    expect(argv).toEqual(expect.arrayContaining(['--tmpfs']));
    const key = argv.indexOf('/home/u/.config/tabcrew/state.key');
    expect(argv.slice(key - 2, key + 1)).toEqual(['--bind', '/dev/null', '/home/u/.config/tabcrew/state.key']);
    expect(argv).not.toContain('--new-session');
  });
});

describe('seatbeltProfile', () => {
  it('holds no path in its text: each is a -D parameter, so quotes and backslashes stay data', () => {
    const evil = '/Users/u/code/a"b\\c)(allow file-read* (subpath "/"))';
    const r = sandboxRules(input({ root: evil, home: '/Users/u', claudeConfigDir: '/Users/u/.claude', claudeConfigFile: '/Users/u/.claude.json' }));
    const { profile, params } = seatbeltProfile(r);
    expect(profile).not.toContain(evil);
    expect(profile).not.toContain('/Users');
    expect(params).toContainEqual([expect.stringMatching(/^P\d+$/), evil]);
    const argv = seatbeltArgv('/usr/bin/sandbox-exec', '/opt/tabcrew/runtime/agents/x/sandbox.sb', params, ['/opt/claude', '--name', 'Agent_1']);
    expect(argv.slice(0, 3)).toEqual(['/usr/bin/sandbox-exec', '-f', '/opt/tabcrew/runtime/agents/x/sandbox.sb']);
    const name = params.find(([, v]) => v === evil)![0];
    expect(argv).toContain(`${name}=${evil}`);
    expect(argv.slice(-3)).toEqual(['/opt/claude', '--name', 'Agent_1']);
  });

  it("a read-only role's root is denied writes in the profile, as bubblewrap binds it read-only", () => {
    const { profile, params } = seatbeltProfile(sandboxRules(input({ readOnly: true })));
    const name = params.find(([, v]) => v === '/home/u/code/app')![0];
    expect(profile.split('\n').filter((l) => l.includes(`(param "${name}")`))).toEqual([
      `(deny file-write* (subpath (param "${name}")))`,
      `(allow file-read* (subpath (param "${name}")))`,
    ]);
  });

  it('denies file access everywhere first, then follows the rules in order (the last match wins)', () => {
    const r = sandboxRules(input());
    const { profile, params } = seatbeltProfile(r);
    const lines = profile.trim().split('\n');
    expect(lines.slice(0, 4)).toEqual(['(version 1)', '(allow default)', '(deny file-read* file-write*)', '(allow file-read-metadata)']);
    const lineOf = (path: string) => {
      const name = params.find(([, v]) => v === path)![0];
      return lines.filter((l) => l.includes(`(param "${name}")`));
    };
    expect(lineOf('/home/u/code/app')).toEqual([`(allow file-read* file-write* (subpath (param "${params.find(([, v]) => v === '/home/u/code/app')![0]}")))`]);
    expect(lineOf('/opt/tabcrew/state')[0]).toMatch(/^\(deny file-read\* file-write\* \(subpath/);
    expect(lineOf('/usr')).toEqual([expect.stringMatching(/^\(deny file-write\*/), expect.stringMatching(/^\(allow file-read\*/)]);
    // The state dir's denial comes after /opt's permission, the own runtime folder's permission after the runtime dir's denial.
    const at = (path: string) => lines.findIndex((l) => l.includes(`"${params.find(([, v]) => v === path)![0]}"`));
    expect(at('/opt/tabcrew/state')).toBeGreaterThan(at('/opt'));
    expect(at(input().agentDir)).toBeGreaterThan(at('/opt/tabcrew/runtime'));
  });
});
