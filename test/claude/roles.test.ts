import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { prepareLaunch } from '../../src/claude/launch.js';
import { renderAdderPrompt } from '../../src/claude/prompt.js';
import { AGENT_MCP_ALLOW } from '../../src/claude/agent-mcp-config.js';
import { BUILTIN_ROLES, effectivePermissions, FILE_EDIT_TOOLS, loadRolesFile, READ_ONLY_DENY, RoleCatalogue } from '../../src/claude/roles.js';

const dir = mkdtempSync(join(tmpdir(), 'tabcrew-roles-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('roles', () => {
  it('ten roles are built in, each with an id, a title and guidance', () => {
    expect(BUILTIN_ROLES).toHaveLength(10);
    expect(new Set(BUILTIN_ROLES.map((r) => r.id)).size).toBe(10);
  });

  it('a YAML roles file adds a role and replaces a built-in one by id', () => {
    const roles = loadRolesFile(
      file(
        'roles.yaml',
        'roles:\n  - id: sre\n    title: Site reliability\n    guidance: Keep it up.\n  - id: general\n    title: Generalist\n    guidance: Anything.\n',
      ),
    );
    const cat = new RoleCatalogue(roles);
    expect(cat.list()).toHaveLength(11);
    expect(cat.get('general')?.title).toBe('Generalist');
    expect(cat.resolve('sre')).toMatchObject({ id: 'sre', custom: false });
  });

  it('a JSON roles file is read as JSON', () => {
    expect(loadRolesFile(file('roles.json', JSON.stringify({ roles: [{ id: 'qa', title: 'QA', guidance: 'Test.' }] })))[0].id).toBe('qa');
  });

  it('a bad roles file is refused naming the file, the entry and what is wrong', () => {
    expect(() => loadRolesFile(file('bad.yaml', 'roles:\n  - id: Bad Id\n    title: x\n    guidance: y\n'))).toThrow(
      /bad\.yaml: roles\.0\.id: a role id is lowercase/,
    );
    expect(() => loadRolesFile(file('dup.json', JSON.stringify({ roles: [1, 2].map(() => ({ id: 'qa', title: 'QA', guidance: 'g' })) })))).toThrow(
      /defined twice/,
    );
    expect(() => loadRolesFile(file('broken.json', '{ roles: '))).toThrow(/is not valid JSON/);
    expect(() => loadRolesFile(join(dir, 'missing.yaml'))).toThrow(/cannot be read \(ENOENT\)/);
  });

  it('the reviewer and security roles are read-only, the documentation role edits *.md without asking, list_roles shows each', () => {
    const view = new Map(new RoleCatalogue().view().map((r) => [r.id, r.permissions]));
    for (const id of ['code_reviewer', 'security_analyst']) {
      expect(view.get(id)?.read_only, id).toBe(true);
      expect(view.get(id)?.deny, id).toEqual(expect.arrayContaining([...FILE_EDIT_TOOLS, 'Bash(rm *)', 'Bash(tee *)', 'Bash(git commit *)', 'Bash(sed -i*)']));
    }
    expect(view.get('documentation_writer')).toEqual({ read_only: false, allow: ['Edit(**/*.md)'], deny: [] });
    expect(view.get('backend_developer')).toEqual({ read_only: false, allow: [], deny: [] });
  });

  it('a roles file role sets its own permissions; read_only adds the read-only rules to its own', () => {
    const [ro, narrow] = loadRolesFile(
      file(
        'perm.yaml',
        [
          'roles:',
          '  - id: auditor',
          '    title: Auditor',
          '    guidance: Look.',
          '    permissions: { read_only: true, deny: ["WebFetch"], allow: ["Bash(npm test *)"] }',
          '  - id: docs_only',
          '    title: Docs',
          '    guidance: Write docs.',
          '    permissions:',
          '      allow: ["Edit(docs/**)", "mcp__github__get_issue"]',
          '      deny: ["Bash(curl *)", "Read(//etc/**)"]',
        ].join('\n'),
      ),
    );
    expect(effectivePermissions(ro.permissions)).toEqual({ read_only: true, allow: ['Bash(npm test *)'], deny: [...READ_ONLY_DENY, 'WebFetch'] });
    expect(effectivePermissions(narrow.permissions)).toEqual({
      read_only: false,
      allow: ['Edit(docs/**)', 'mcp__github__get_issue'],
      deny: ['Bash(curl *)', 'Read(//etc/**)'],
    });
  });

  it("a permission rule that is not in Claude Code's rule shape is refused, naming the entry", () => {
    const bad = (rule: unknown) => JSON.stringify({ roles: [{ id: 'x', title: 'X', guidance: 'g', permissions: { deny: [rule] } }] });
    for (const rule of ['Bash(rm *)\nWrite', '--dangerously-skip-permissions', 'Bash()', '(Edit)', 'Edit(x', '', 'Ed it']) {
      expect(() => loadRolesFile(file('rule.json', bad(rule))), JSON.stringify(rule)).toThrow(
        /rule\.json: roles\.0\.permissions\.deny\.0: a Claude Code permission rule/,
      );
    }
    expect(() =>
      loadRolesFile(file('rule.json', JSON.stringify({ roles: [{ id: 'x', title: 'X', guidance: 'g', permissions: { readonly: true } }] }))),
    ).toThrow(/roles\.0\.permissions: Unrecognized key/);
  });

  it("a role's rules reach the agent's settings file beside the session boundaries and tabcrew's own tools, and a read-only role's prompt says so", async () => {
    const launch = await prepareLaunch({
      agent: 'Agent_1',
      sessionName: 's',
      root: dir,
      role: 'code_reviewer',
      roleTitle: 'Code reviewer',
      roleGuidance: 'Review.',
      rolePermissions: effectivePermissions({ read_only: true, allow: ['Bash(npm test *)'] }),
      deny: ['Read(//other/**)'],
      peers: [],
      claudeSessionId: 'c0ffee00-0000-4000-8000-00000000000b',
      resume: false,
      claudePath: '/usr/bin/true',
      runtimeDir: join(dir, 'runtime'),
      baseEnv: {},
      agentMcp: { secret: 'x'.repeat(32), socket: join(dir, 'sock') },
    });
    const settings = JSON.parse(readFileSync(launch.argv[launch.argv.indexOf('--settings') + 1], 'utf8'));
    expect(settings.permissions).toEqual({ deny: ['Read(//other/**)', ...READ_ONLY_DENY], allow: [AGENT_MCP_ALLOW, 'Bash(npm test *)'] });
    expect(settings.hooks.PreToolUse).toBeDefined();
    const prompt = readFileSync(launch.argv[launch.argv.indexOf('--append-system-prompt-file') + 1], 'utf8');
    expect(prompt).toContain('Your role is read-only');
  });

  it('text that is not a role id is kept as a custom role', () => {
    expect(new RoleCatalogue().resolve('watches the logs')).toEqual({ title: 'watches the logs', custom: true });
  });

  it("a catalogue role's title and guidance are rendered into the ADDER+ prompt", () => {
    const r = BUILTIN_ROLES.find((x) => x.id === 'debugger')!;
    const p = renderAdderPrompt({ agent: 'Agent_1', session: 's', root: '/r', role: r.id, roleTitle: r.title, roleGuidance: r.guidance, peers: [] });
    expect(p).toContain('Your role: Debugger (debugger)');
    expect(p).toContain('## Your role: Debugger\nYou find root causes');
  });
});
