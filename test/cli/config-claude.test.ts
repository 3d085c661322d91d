import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { launchProblems } from '../../src/cli/config-claude.js';
import { defaultConfig } from '../../src/config.js';
import { CLI } from '../support/tabcrew.js';
import { runCli, testEnv } from './run-cli.js';

// Every test writes under this throw-away HOME; the real ~/.config and ~/Library are never named.
const home = mkdtempSync(join(tmpdir(), 'tabcrew-config-home-'));
const tmuxPath = execFileSync('sh', ['-c', 'command -v tmux'], { encoding: 'utf8' }).trim();
// claude on PATH whether or not this machine has one installed: the checkout's own.
const claudeBin = join(home, 'claude-bin');
mkdirSync(claudeBin);
symlinkSync(resolve('node_modules/.bin/claude'), join(claudeBin, 'claude'));
const env = testEnv(home, { PATH: `${claudeBin}:${process.env.PATH}` });

afterAll(() => rmSync(home, { recursive: true, force: true }));

const defaultFile =
  process.platform === 'darwin'
    ? join(home, 'Library', 'Application Support', 'Claude', 'claude_desktop_config.json')
    : join(home, '.config', 'Claude', 'claude_desktop_config.json');

const backupsOf = (file: string) =>
  readdirSync(dirname(file))
    .filter((f) => f.startsWith(`${file.split('/').pop()}.`) && f.endsWith('.bak'))
    .map((f) => join(dirname(file), f));

describe('tabcrew config claude-desktop', () => {
  it('prints an mcpServers entry with absolute node and CLI paths and a PATH for node and tmux', async () => {
    const r = await runCli(['config', 'claude-desktop'], env);
    expect(r.code, r.stderr).toBe(0);
    const entry = JSON.parse(r.stdout).mcpServers.tabcrew;
    expect(entry.command).toBe(process.execPath);
    expect(isAbsolute(entry.command)).toBe(true);
    expect(entry.args).toEqual([CLI, 'serve']);
    expect(existsSync(entry.args[0])).toBe(true);
    const path = entry.env.PATH.split(':');
    expect(path).toContain(dirname(process.execPath));
    expect(path).toContain(dirname(tmuxPath));
    expect(path.every(isAbsolute)).toBe(true);
  });

  it('puts the directory of an explicit claude in PATH and passes it to serve', async () => {
    const r = await runCli(['config', 'claude-desktop', '--json', '--claude-path', 'node_modules/.bin/claude'], env);
    const entry = JSON.parse(r.stdout).mcpServers.tabcrew;
    expect(entry.args).toEqual([CLI, 'serve', '--claude-path', expect.stringMatching(/\/node_modules\/\.bin\/claude$/)]);
    expect(isAbsolute(entry.args[3])).toBe(true);
    expect(existsSync(entry.args[3])).toBe(true);
    expect(entry.env.PATH.split(':')).toContain(dirname(entry.args[3]));
  });

  it('--write creates the default config file under HOME when there is none', async () => {
    const r = await runCli(['config', 'claude-desktop', '--write'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Added tabcrew to ${defaultFile}`);
    expect(JSON.parse(readFileSync(defaultFile, 'utf8')).mcpServers.tabcrew.args).toEqual([CLI, 'serve']);
    expect(backupsOf(defaultFile)).toEqual([]);
  });

  it('--write keeps every other server and key, adds tabcrew, and leaves a backup equal to the old file', async () => {
    const file = join(home, 'merge', 'claude_desktop_config.json');
    mkdirSync(dirname(file));
    const old = {
      globalShortcut: 'Ctrl+Space',
      mcpServers: {
        filesystem: { command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem', '/tmp'] },
        other: { command: '/bin/true', env: { KEY: 'v' } },
      },
      preferences: { theme: 'dark', nested: [1, 2, { a: null }] },
    };
    const oldText = JSON.stringify(old, null, 4) + '\n';
    writeFileSync(file, oldText);
    chmodSync(file, 0o640);
    const printed = JSON.parse((await runCli(['config', 'claude-desktop'], env)).stdout).mcpServers.tabcrew;

    const r = await runCli(['config', 'claude-desktop', '--write', '--config-file', file], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('kept filesystem, other');
    const now = JSON.parse(readFileSync(file, 'utf8'));
    expect(now).toEqual({ ...old, mcpServers: { ...old.mcpServers, tabcrew: printed } });
    expect(Object.keys(now)).toEqual(Object.keys(old));
    const backups = backupsOf(file);
    expect(backups).toHaveLength(1);
    expect(readFileSync(backups[0], 'utf8')).toBe(oldText);
    expect(r.stdout).toContain(backups[0]);

    const again = await runCli(['config', 'claude-desktop', '--write', '--config-file', file], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('nothing was written');
    expect(backupsOf(file)).toHaveLength(1);
  });

  it('--write refuses an entry whose Claude Code is not there, saying what to do, and --force writes it', async () => {
    const file = join(home, 'noclaude', 'claude_desktop_config.json');
    const missing = join(home, 'no-such-claude');
    const r = await runCli(['config', 'claude-desktop', '--write', '--config-file', file, '--claude-path', missing], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file} was left unchanged: this entry could not launch agents.`);
    expect(r.stderr).toContain(`Claude Code ${missing} is not an executable file: pass --claude-path /path/to/claude (or set TABCREW_CLAUDE_PATH)`);
    expect(r.stderr).toContain('or pass --force to write it anyway');
    expect(existsSync(file)).toBe(false);

    const forced = await runCli(['config', 'claude-desktop', '--write', '--force', '--config-file', file, '--claude-path', missing], env);
    expect(forced.code, forced.stderr).toBe(0);
    expect(JSON.parse(readFileSync(file, 'utf8')).mcpServers.tabcrew.args).toEqual([CLI, 'serve', '--claude-path', missing]);
  });

  it('counts an entry whose PATH has no tmux (nor iTerm2) as unable to launch agents: they would be headless PTYs', () => {
    const claude = resolve('node_modules/.bin/claude');
    const entry = { command: process.execPath, args: [CLI, 'serve', '--claude-path', claude], env: { PATH: join(home, 'no-tools') } };
    const problems = launchProblems(entry, { ...defaultConfig(), backend: 'auto' }, 'linux');
    expect(problems).toEqual([
      expect.stringMatching(/^neither tmux \(on the entry's PATH: .*\) nor iTerm2 was found, so agents would run in headless PTYs .*install tmux/),
    ]);
    expect(launchProblems({ ...entry, env: { PATH: dirname(tmuxPath) } }, defaultConfig(), 'linux')).toEqual([]);
  });

  it('uses the Claude Code of the checkout when none is on PATH, and passes it to serve explicitly', async () => {
    const r = await runCli(['config', 'claude-desktop', '--json'], testEnv(home, { PATH: `${dirname(tmuxPath)}:${dirname(process.execPath)}:/usr/bin:/bin` }));
    const entry = JSON.parse(r.stdout).mcpServers.tabcrew;
    if (existsSync('/usr/bin/claude') || existsSync('/bin/claude')) return;
    expect(entry.args).toEqual([CLI, 'serve', '--claude-path', resolve('node_modules/.bin/claude')]);
  });

  it('refuses a config that is not valid JSON and leaves it untouched', async () => {
    const file = join(home, 'broken', 'claude_desktop_config.json');
    mkdirSync(dirname(file));
    const broken = '{ "mcpServers": { "x": { "command": "y" }, }\n';
    writeFileSync(file, broken);
    const r = await runCli(['config', 'claude-desktop', '--write', '--config-file', file], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`${file.replace(/[.]/g, '\\.')} is not valid JSON \\(.*\\); it was left unchanged`));
    expect(readFileSync(file, 'utf8')).toBe(broken);
    expect(readdirSync(dirname(file))).toEqual(['claude_desktop_config.json']);
  });

  it('refuses a config whose mcpServers is not an object', async () => {
    const file = join(home, 'odd.json');
    writeFileSync(file, '{"mcpServers": []}');
    const r = await runCli(['config', 'claude-desktop', '--write', '--config-file', file], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('"mcpServers" in');
    expect(readFileSync(file, 'utf8')).toBe('{"mcpServers": []}');
  });
});

describe('tabcrew config claude-code', () => {
  it('prints the claude mcp add line with absolute paths', async () => {
    const r = await runCli(['config', 'claude-code'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^claude mcp add /);
    expect(r.stdout.trim()).toBe(`claude mcp add -s user tabcrew -- ${process.execPath} ${CLI} serve`);
  });

  it('the --http line runs after the stdio one: Claude Code then has both, tabcrew and tabcrew-http', async () => {
    const stdio = await runCli(['config', 'claude-code'], env);
    const http = await runCli(['config', 'claude-code', '--http', '8787', '--state-dir', join(home, 'state')], env);
    expect(http.code, http.stderr).toBe(0);
    expect(http.stdout).toMatch(/^claude mcp add --transport http -s user tabcrew-http http:\/\/127\.0\.0\.1:8787\/mcp --header 'Authorization: Bearer tc_/);
    expect(http.stderr).toMatch(/tabcrew-http.*beside.*claude mcp remove -s user tabcrew/s);
    // As the person would: paste both lines into a shell (the real claude, this HOME).
    for (const line of [stdio.stdout, http.stdout]) execFileSync('sh', ['-c', line.trim()], { env, stdio: 'pipe', timeout: 60_000 });
    const servers = JSON.parse(readFileSync(join(home, '.claude.json'), 'utf8')).mcpServers;
    expect(servers.tabcrew).toMatchObject({ type: 'stdio', command: process.execPath });
    expect(servers['tabcrew-http']).toMatchObject({ type: 'http', url: 'http://127.0.0.1:8787/mcp' });
  });

  it('shell-quotes a path a shell would split', async () => {
    const dir = join(home, "my bin's");
    mkdirSync(dir);
    writeFileSync(join(dir, 'claude'), '#!/bin/sh\n');
    chmodSync(join(dir, 'claude'), 0o755);
    const r = await runCli(['config', 'claude-code', '--scope', 'local', '--claude-path', join(dir, 'claude')], env);
    expect(r.stdout.trim()).toBe(`claude mcp add -s local tabcrew -- ${process.execPath} ${CLI} serve --claude-path '${home}/my bin'\\''s/claude'`);
    // What a shell makes of the line is the argv tabcrew means.
    const argv = execFileSync('sh', ['-c', `set -- ${r.stdout.trim()}; for a; do printf '%s\\n' "$a"; done`], { encoding: 'utf8' });
    expect(argv.trim().split('\n').slice(-1)[0]).toBe(join(dir, 'claude'));
  });
});
