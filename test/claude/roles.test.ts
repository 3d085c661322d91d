import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderAdderPrompt } from '../../src/claude/prompt.js';
import { BUILTIN_ROLES, loadRolesFile, RoleCatalogue } from '../../src/claude/roles.js';

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
