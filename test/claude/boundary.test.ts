import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { boundaryVerdict, deniedInCommand, deniedPath, globBase, shellWords, type PathContext } from '../../src/claude/boundary.js';

const base = realpathSync(mkdtempSync(join(tmpdir(), 'tabcrew-boundary-')));
const own = join(base, 'app');
const other = join(base, 'app[1]');
const paren = join(base, 'odd) name*');
const home = join(base, 'home');
for (const d of [own, other, paren, home, join(own, 'src')]) mkdirSync(d, { recursive: true });
writeFileSync(join(other, 'secret.txt'), 'x');
symlinkSync(other, join(own, 'link'));
symlinkSync(base, join(home, 'work'));
const others = [
  { id: 's-other', name: 'other', root: other },
  { id: 's-paren', name: 'paren', root: paren },
];
const ctx: PathContext = { cwd: own, home };
const denied = (tool: string, input: Record<string, unknown>) => deniedPath(tool, input, ctx, others)?.session.name;

afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('file tools', () => {
  it('a path inside another root is denied however it is written', () => {
    expect(denied('Read', { file_path: join(other, 'secret.txt') })).toBe('other');
    expect(denied('Read', { file_path: '../app[1]/secret.txt' })).toBe('other');
    expect(denied('Read', { file_path: `${own}/../app[1]/./secret.txt` })).toBe('other');
    expect(denied('Read', { file_path: '~/work/app[1]/secret.txt' })).toBe('other');
    expect(denied('Read', { file_path: `${other}/` })).toBe('other');
    expect(denied('Edit', { file_path: join(paren, 'a.ts') })).toBe('paren');
    expect(denied('Write', { file_path: join(other, 'new', 'deeper', 'file.ts') })).toBe('other');
    expect(denied('MultiEdit', { file_path: join(other, 'secret.txt') })).toBe('other');
    expect(denied('NotebookEdit', { notebook_path: join(other, 'n.ipynb') })).toBe('other');
    expect(denied('LS', { path: other })).toBe('other');
  });

  it('a symlink inside the own root that points into another root is denied', () => {
    expect(denied('Read', { file_path: join(own, 'link', 'secret.txt') })).toBe('other');
    expect(denied('Read', { file_path: 'link/secret.txt' })).toBe('other');
    expect(denied('Write', { file_path: 'link/not-yet.txt' })).toBe('other');
  });

  it('paths in the own root, and siblings whose names only start like another root, are allowed', () => {
    expect(denied('Read', { file_path: join(own, 'src', 'index.ts') })).toBeUndefined();
    expect(denied('Read', { file_path: 'src/index.ts' })).toBeUndefined();
    expect(denied('Read', { file_path: join(base, 'app[1]-copy', 'x') })).toBeUndefined();
    expect(denied('Read', { file_path: '/usr/include/stdio.h' })).toBeUndefined();
    expect(denied('TodoWrite', { todos: [{ content: other }] })).toBeUndefined();
  });
});

describe('searches', () => {
  it('Grep and Glob in, or from above, another root are denied', () => {
    expect(denied('Grep', { pattern: 'x', path: other })).toBe('other');
    expect(denied('Grep', { pattern: 'x', path: base })).toBe('other');
    expect(denied('Grep', { pattern: 'x', glob: `${other}/**` })).toBe('other');
    expect(denied('Glob', { pattern: `${other}/**/*.txt` })).toBe('other');
    expect(denied('Glob', { pattern: '**/*.txt', path: '..' })).toBe('other');
    expect(denied('Glob', { pattern: '../app*/secret.txt' })).toBe('other');
  });

  it('searches in the own root are allowed', () => {
    expect(denied('Grep', { pattern: 'x' })).toBeUndefined();
    expect(denied('Grep', { pattern: 'x', path: 'src', glob: '*.ts' })).toBeUndefined();
    expect(denied('Glob', { pattern: '**/*.ts' })).toBeUndefined();
    expect(denied('Glob', { pattern: `${base}/*.txt` })).toBeUndefined();
  });

  it('the base of a glob pattern is the directories before its first wildcard', () => {
    expect(globBase('/a/b/*.ts')).toBe('/a/b');
    expect(globBase('/a/[x]/c')).toBe('/a');
    expect(globBase('**/*.ts')).toBe('.');
    expect(globBase('/a/b/c.ts')).toBe('/a/b');
  });
});

describe('shell commands (best effort)', () => {
  const bash = (command: string) => deniedInCommand(command, ctx, others)?.session.name;

  it('splits words the way a shell would for quotes, escapes and operators', () => {
    expect(shellWords(`cat '/a b'/c "d\\"e" f\\ g;ls|wc <in >out VAR=/x --file=/y`)).toEqual([
      'cat',
      '/a b/c',
      'd"e',
      'f g',
      'ls',
      'wc',
      'in',
      'out',
      'VAR',
      '/x',
      '--file',
      '/y',
    ]);
  });

  it('a command naming another root in any form is denied', () => {
    expect(bash(`cat '${other}/secret.txt'`)).toBe('other');
    expect(bash(`cat "${base}/app[1]/secret.txt"`)).toBe('other');
    expect(bash(`cat ${base}/app\\[1\\]/secret.txt`)).toBe('other');
    expect(bash('cat ../app[1]/secret.txt')).toBe('other');
    expect(bash('cat link/secret.txt')).toBe('other');
    expect(bash('cat ~/work/app[1]/secret.txt')).toBe('other');
    expect(bash('head -c 10 <../app?1?/secret.txt')).toBe('other');
    expect(bash(`echo ok && python3 -c "open('${other}/secret.txt')"`)).toBe('other');
    expect(bash('grep -r password ..')).toBe('other');
    expect(bash('ls ../app*')).toBe('other');
    expect(bash(`cp x '${paren}/y'`)).toBe('paren');
  });

  it('commands that stay in the own root are allowed', () => {
    expect(bash('ls -la')).toBeUndefined();
    expect(bash('cat src/index.ts && ls ..')).toBeUndefined();
    expect(bash('npm test -- --reporter=dot')).toBeUndefined();
    expect(bash('grep -r TODO src')).toBeUndefined();
    expect(bash(`echo x > /tmp/log-of-${other}-copy`)).toBeUndefined();
    expect(bash(`cat ${other}-copy/x`)).toBeUndefined();
  });
});

describe('the verdict', () => {
  mkdirSync(join(base, 'runtime'));
  const file = join(base, 'runtime', 'boundaries.json');
  writeFileSync(file, JSON.stringify({ version: 1, sessions: [{ id: 's-own', name: 'own', root: own }, ...others] }));
  const verdict = (input: Record<string, unknown>, boundariesFile = file) =>
    boundaryVerdict({ hook_event_name: 'PreToolUse', cwd: own, ...input }, { session: 's-own', boundariesFile, home, read: (f) => readFileSync(f, 'utf8') });

  it("names the other session and its root, and leaves the own session's root alone", () => {
    expect(verdict({ tool_name: 'Read', tool_input: { file_path: join(other, 'secret.txt') } })).toMatch(/root of tabcrew session "other" \(.*app\[1\]\)/);
    expect(verdict({ tool_name: 'Read', tool_input: { file_path: join(own, 'src', 'x') } })).toBeUndefined();
  });

  it("tabcrew's own files (runtime dir, listed dirs, the hook) are off limits too", () => {
    writeFileSync(file, JSON.stringify({ version: 1, sessions: [{ id: 's-own', name: 'own', root: own }], protected: [join(base, 'logs')] }));
    const at = (p: string, protect?: string[]) =>
      boundaryVerdict(
        { hook_event_name: 'PreToolUse', cwd: own, tool_name: 'Write', tool_input: { file_path: p } },
        { session: 's-own', boundariesFile: file, home, read: (f) => readFileSync(f, 'utf8'), protect },
      );
    expect(at(file)).toMatch(/one of tabcrew's own files/);
    expect(at(join(base, 'logs', 'audit.jsonl'))).toMatch(/one of tabcrew's own files/);
    expect(at('/opt/tabcrew/dist/hook.js', ['/opt/tabcrew/dist/hook.js'])).toMatch(/one of tabcrew's own files/);
    expect(at(join(own, 'x'))).toBeUndefined();
  });

  it('a missing boundaries file refuses path tools with what to do, and lets other tools run', () => {
    const missing = join(base, 'nope.json');
    expect(verdict({ tool_name: 'Read', tool_input: { file_path: join(own, 'x') } }, missing)).toMatch(/could not be read .* refuses Read.*restarting tabcrew/);
    expect(verdict({ tool_name: 'TodoWrite', tool_input: {} }, missing)).toBeUndefined();
  });
});
