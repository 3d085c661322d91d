/**
 * The macOS launch of a sandboxed agent through the iTerm2 backend, run against the iTerm2
 * emulator: tabcrew builds `sandbox-exec -f <profile> -D P0=<path> … claude …`, and that argv
 * is what the tab executes. The emulator cannot enforce Seatbelt (Linux has none), so a
 * stand-in sandbox-exec records the argv it was given and the profile file it names; what
 * the profile makes a Mac refuse is only shown on a Mac (README, docs/security.md).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareLaunch, SEATBELT_PROFILE } from '../../src/claude/launch.js';
import { effectivePermissions } from '../../src/claude/roles.js';
import { ITerm2Backend } from '../../src/terminals/iterm2.js';
import { startEmulator } from '../iterm2-emulator/harness.js';
import { makeScratch } from './fixtures.js';
import { until } from '../support/until.js';

const scratch = makeScratch('tabcrew-seatbelt-launch-');
const { root: base } = scratch;
// A root whose name is profile language and shell text: it must stay data all the way.
const root = join(base, `it's "a" (allow file-write* (subpath "x")) $(touch pwned) \\ root`);
const home = join(base, 'home');
const runtimeDir = join(base, 'runtime');
const record = join(base, 'sandbox-exec-record.json');
const standIn = join(base, 'sandbox-exec');
const emu = startEmulator(base);

// Records its argv and the profile file it was pointed at; enforces nothing.
const STAND_IN = `#!/usr/bin/env node
const fs = require('node:fs');
const argv = process.argv.slice(2);
const profile = argv[0] === '-f' ? fs.readFileSync(argv[1], 'utf8') : null;
fs.writeFileSync(process.env.SEATBELT_RECORD, JSON.stringify({ argv, profile, cwd: process.cwd() }));
`;

beforeAll(() => {
  mkdirSync(root);
  mkdirSync(home);
  writeFileSync(standIn, STAND_IN);
  chmodSync(standIn, 0o755);
  emu.install();
});
afterAll(() => {
  emu.uninstall();
  emu.stop();
  scratch.remove();
});

describe('a Seatbelt-sandboxed agent launched through the iTerm2 emulator', () => {
  it('the tab runs exactly `sandbox-exec -f <profile> -D …` then Claude Code, the profile file holds the rules and no path, and no text reached a script', async () => {
    const launch = await prepareLaunch({
      agent: 'Agent_1',
      sessionName: 'app',
      root,
      role: 'code_reviewer',
      roleTitle: 'Code reviewer',
      roleGuidance: 'Review.',
      rolePermissions: effectivePermissions({ read_only: true }),
      peers: [],
      claudeSessionId: 'c0ffee00-0000-4000-8000-00000000000a',
      resume: false,
      claudePath: process.execPath,
      runtimeDir,
      baseEnv: { PATH: process.env.PATH!, HOME: home, SEATBELT_RECORD: record },
      sandbox: { kind: 'seatbelt', program: standIn, stateDir: join(base, 'state'), logDir: join(base, 'logs'), allow: [] },
    });
    const profileFile = join(launch.agentDir, SEATBELT_PROFILE);
    expect(launch.argv.slice(0, 3)).toEqual([standIn, '-f', profileFile]);
    expect(launch.sandbox?.kind).toBe('seatbelt');
    // Seatbelt has no private /tmp: the agent's temporary files go to its own folder.
    expect(launch.env.TMPDIR).toBe(join(launch.agentDir, 'tmp'));

    const backend = new ITerm2Backend({ runtimeDir });
    const runsBefore = emu.runs().length;
    await backend.createTab({
      group: 's-seatbelt',
      groupTitle: 'app',
      cwd: launch.cwd,
      argv: launch.argv,
      env: launch.env,
      title: 'Agent_1',
      tag: 'tabcrew:Agent_1:x',
    });
    const seen = await until(
      'the stand-in sandbox-exec to run in the tab',
      async () => (existsSync(record) ? JSON.parse(readFileSync(record, 'utf8')) : undefined),
      20_000,
      100,
    );

    // What reached the tab's program is the argv tabcrew built, element for element.
    expect(seen.argv).toEqual(launch.argv.slice(1));
    expect(seen.cwd).toBe(root);
    const dashD = seen.argv.slice(2, seen.argv.indexOf(process.execPath));
    const params = new Map<string, string>();
    for (let i = 0; i < dashD.length; i += 2) {
      expect(dashD[i]).toBe('-D');
      const [k, ...v] = (dashD[i + 1] as string).split('=');
      params.set(k, v.join('='));
    }
    // Then Claude Code with its own flags, unchanged.
    expect(seen.argv.slice(2 + dashD.length)).toEqual(launch.argv.slice(3 + dashD.length));
    expect(seen.argv).toContain('--session-id');

    // The profile: on disk, private, the rules, and no path (each is a -D parameter).
    expect(statSync(profileFile).mode & 0o777).toBe(0o600);
    const profile = readFileSync(profileFile, 'utf8');
    expect(seen.profile).toBe(profile);
    expect(profile.split('\n').slice(0, 4)).toEqual(['(version 1)', '(allow default)', '(deny file-read* file-write*)', '(allow file-read-metadata)']);
    expect(profile).not.toContain(base);
    expect(profile).not.toContain('pwned');
    const param = [...params].find(([, v]) => v === root)?.[0];
    expect(param, 'the root is a parameter, byte for byte').toBeDefined();
    // A read-only role: its root may be read, never written.
    expect(profile).toContain(`(deny file-write* (subpath (param "${param}")))\n(allow file-read* (subpath (param "${param}")))`);
    expect(profile).not.toContain(`(allow file-read* file-write* (subpath (param "${param}")))`);
    const hidden = (p: string) => [...params].find(([, v]) => v === p)?.[0];
    expect(profile).toContain(`(deny file-read* file-write* (subpath (param "${hidden(join(base, 'state'))}")))`);

    // osascript ran only the constant script; the root, the argv and the profile travelled as files.
    const runs = emu.runs().slice(runsBefore);
    expect(runs.length).toBeGreaterThan(0);
    for (const r of runs) {
      expect(r.script.endsWith('tabcrew.js'), r.script).toBe(true);
      expect(r.arg ?? '').not.toContain('pwned');
      // As a word of its own: the random names of temporary files may hold "-D" (tab-DHDswT).
      expect(r.arg ?? '').not.toMatch(/(^|[\s"'])-D([\s"']|$)/);
    }
  });
});
