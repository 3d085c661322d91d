import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTabcrew, type Crew } from '../support/tabcrew.js';
import { REPO, isolated, runCli, testEnv } from './run-cli.js';

const home = mkdtempSync(join(tmpdir(), 'tabcrew-cli-home-'));
const env = testEnv(home);
const empty = isolated();

afterAll(() => {
  rmSync(home, { recursive: true, force: true });
  rmSync(empty.base, { recursive: true, force: true });
});

const tmuxServerRunning = (socket: string): boolean => {
  try {
    execFileSync('tmux', ['-L', socket, 'list-sessions'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

describe('help, version and usage errors', () => {
  const commands = [
    [],
    ['serve'],
    ['status'],
    ['sessions'],
    ['agents'],
    ['recover'],
    ['doctor'],
    ['config'],
    ['config', 'claude-desktop'],
    ['config', 'claude-code'],
  ];

  it.each(commands.map((c) => [c.join(' ') || '(program)', c] as const))('%s --help prints its usage and exits 0', async (_, cmd) => {
    const r = await runCli([...cmd, '--help'], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Usage: tabcrew${cmd.length ? ' ' + cmd.join(' ') : ''} [options]`);
  });

  it('lists every command in the program help', async () => {
    const r = await runCli(['--help'], env);
    for (const name of ['serve', 'status', 'sessions', 'agents', 'recover', 'doctor', 'config']) expect(r.stdout).toMatch(new RegExp(`^\\s+${name}\\b`, 'm'));
  });

  it('the program help shows the common serve options with their environment variables', async () => {
    const r = await runCli(['--help'], env);
    expect(r.code).toBe(0);
    for (const flag of ['--backend', '--state-dir', '--claude-path', '--tmux-socket', '--security-level'])
      expect(r.stdout).toMatch(new RegExp(`^\\s+${flag} `, 'm'));
    expect(r.stdout).toContain('env: TABCREW_TMUX_SOCKET');
    expect(r.stdout).toContain('tabcrew serve --help');
  });

  it('-V and --version print the same version', async () => {
    const a = await runCli(['-V'], env);
    const b = await runCli(['--version'], env);
    expect(a.code).toBe(0);
    expect(a.stdout).toBe(b.stdout);
  });

  /** The flags a --help lists, in order, by the heading they stand under. */
  const listedFlags = (help: string): { heading: string; flag: string }[] => {
    const out: { heading: string; flag: string }[] = [];
    let heading = '';
    for (const line of help.split('\n')) {
      if (/^\S.*:$/.test(line)) heading = line;
      const m = /^ {2}(?:-\w, )?(--[\w-]+)/.exec(line);
      if (m && heading !== 'Examples:') out.push({ heading, flag: m[1]! });
    }
    return out;
  };
  const SERVE_ONLY = ['--max-agents', '--max-sessions', '--rate-limit-burst', '--rate-limit-per-minute', '--message-ttl', '--max-children', '--allow-bypass'];

  it.each([
    ['status', ['--session', '--json']],
    ['recover', ['--session', '--dry-run', '--close-orphans', '--json']],
    ['audit verify', ['--json']],
  ])('%s --help lists its own flags first, then the shared ones, and no serve-only flag', async (name, own) => {
    const r = await runCli([...name.split(' '), '--help'], env);
    expect(r.code).toBe(0);
    const flags = listedFlags(r.stdout);
    expect(flags.slice(0, own.length).map((f) => f.flag)).toEqual(own);
    expect(flags[0]!.heading).toBe('Options:');
    for (const f of SERVE_ONLY) expect(flags.map((x) => x.flag)).not.toContain(f);
    expect(flags.length).toBeLessThanOrEqual(own.length + 11);
  });

  it('audit verify --help lists no terminal flags: it reads the log and the state only', async () => {
    const flags = listedFlags((await runCli(['audit', 'verify', '--help'], env)).stdout).map((f) => f.flag);
    for (const f of ['--backend', '--tmux-socket', '--claude-path', '--runtime-dir', '--prices-file']) expect(flags).not.toContain(f);
    for (const f of ['--state-dir', '--log-dir', '--key-source', '--key-file']) expect(flags).toContain(f);
  });

  it('serve --help still lists every flag of serve, its own first', async () => {
    const flags = listedFlags((await runCli(['serve', '--help'], env)).stdout).map((f) => f.flag);
    expect(flags[0]).toBe('--no-auto-recover');
    for (const f of [...SERVE_ONLY, '--state-dir', '--backend', '--http', '--node']) expect(flags).toContain(f);
  });

  it('a serve-only flag given to recover is still taken (one set of flags fits every command)', async () => {
    const r = await runCli(['recover', '--dry-run', '--json', '--max-agents', '3', ...empty.flags], env);
    expect(r.code, r.stderr).toBe(0);
  });

  it.each([['serve'], ['config', 'claude-code'], ['config', 'http'], ['dashboard']])(
    '%s --http abc exits 2 with the usage line, before anything starts',
    async (...cmd) => {
      const r = await runCli([...cmd, '--http', 'abc', ...(cmd[0] === 'serve' ? empty.flags : [])], env);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('--http "abc" is not [HOST:]PORT');
      expect(r.stderr).toMatch(new RegExp(`^usage: tabcrew ${cmd.join(' ')} `, 'm'));
    },
  );

  it('TABCREW_HTTP=abc is refused the same way, and --http-bind that is no IP address too', async () => {
    const r = await runCli(['serve', ...empty.flags], { ...env, TABCREW_HTTP: 'abc' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^usage: tabcrew serve /m);
    const b = await runCli(['serve', '--http', '0', '--http-bind', 'example.com', ...empty.flags], env);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain('--http-bind "example.com" is not an IP address');
  });

  it('recover --help describes --dry-run and --json', async () => {
    const r = await runCli(['recover', '--help'], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--dry-run');
    expect(r.stdout).toContain('--json');
  });

  it('--version prints the package version', async () => {
    const r = await runCli(['--version'], env);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version);
  });

  it('an unknown command exits 2 with a suggestion and the usage line', async () => {
    const r = await runCli(['stauts'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"stauts" is not a tabcrew command (did you mean status?)');
    expect(r.stderr).toMatch(/^usage: tabcrew \[command\] \[options\]/m);
  });

  it("an unknown flag exits 2 with that command's usage line", async () => {
    const r = await runCli(['status', '--bogus'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown option '--bogus'");
    expect(r.stderr).toMatch(/^usage: tabcrew status \[options\]/m);
  });

  it('a bad flag value exits 2 before anything starts', async () => {
    const r = await runCli(['serve', '--max-agents', '0', ...empty.flags], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('must be a whole number');
    expect(r.stderr).toMatch(/^usage: tabcrew serve/m);
  });

  it('config without a client exits 2 and lists the clients', async () => {
    const r = await runCli(['config'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('claude-desktop');
    expect(r.stderr).toMatch(/^usage: tabcrew config/m);
  });
});

describe('reading an empty state', () => {
  it.each([
    ['sessions', { sessions: [] }],
    ['agents', { agents: [] }],
    ['status', { sessions: [] }],
  ])('%s --json prints valid JSON and starts no tmux server', async (cmd, expected) => {
    const r = await runCli([cmd, '--json', ...empty.flags], env);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(expected);
    expect(tmuxServerRunning(empty.socket)).toBe(false);
  });

  it('status without --json says there are no sessions', async () => {
    const r = await runCli(['status', ...empty.flags], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^no sessions in /);
  });
});

describe('reading the state a server wrote', () => {
  let crew: Crew;
  let flags: string[];
  const root = join(home, 'app');

  beforeAll(async () => {
    mkdirSync(root);
    crew = await startTabcrew({ env });
    flags = ['--state-dir', crew.dirs.state, '--log-dir', crew.dirs.logs, '--runtime-dir', crew.dirs.runtime, '--tmux-socket', crew.socket];
    await crew.ok('create_session', { root, name: 'app' });
  });
  afterAll(async () => {
    await crew?.stop();
  });

  it('sessions lists the session as a table and as JSON', async () => {
    const table = await runCli(['sessions', ...flags], env);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^SESSION\s+ID\s+AGENTS\s+ROOT$/);
    expect(table.stdout).toMatch(new RegExp(`^app\\s+s-\\S+\\s+-\\s+${root}$`, 'm'));
    const json = JSON.parse((await runCli(['sessions', '--json', ...flags], env)).stdout);
    expect(json.sessions).toEqual([{ session_id: expect.stringMatching(/^s-/), name: 'app', root, agents: [] }]);
  });

  it('status --json gives each session with its agents and TODO summary', async () => {
    const r = await runCli(['status', '--json', '--session', 'app', ...flags], env);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).sessions).toEqual([expect.objectContaining({ name: 'app', root, agents: [], todo: null })]);
  });

  it('status shows a session without agents as a row', async () => {
    const r = await runCli(['status', ...flags], env);
    expect(r.stdout).toMatch(/^SESSION\s+AGENT\s+STATUS\s+SINCE\s+TOKENS\s+COST\s+HEALTH\s+TASKS$/m);
    expect(r.stdout).toMatch(/^app\s+-\s+no agents/m);
  });

  it('agents --session filters by name and an unknown session exits 1 naming the known ones', async () => {
    const ok = await runCli(['agents', '--session', 'app', '--json', ...flags], env);
    expect(JSON.parse(ok.stdout)).toEqual({ agents: [] });
    const bad = await runCli(['agents', '--session', 'nope', ...flags], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/no session "nope" \(sessions: app \(s-/);
  });
});
