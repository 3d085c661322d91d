/**
 * The macOS form of an agent's sandbox rules (sandbox.ts): a Seatbelt profile for
 * `sandbox-exec`. Paths never enter the profile's text: each is a parameter
 * (`(param "P3")`) whose value reaches sandbox-exec as its own argv element
 * (`-D P3=/the/path`), so a path holding `"`, `\` or `)` is data, not profile language.
 *
 * File reads and writes are denied everywhere, then allowed where the rules show a path;
 * Seatbelt lets the last matching rule win, and the rules come sorted by depth, so a
 * deeper rule overrides a shallower one as it does under bubblewrap. Differences:
 * - `empty` cannot be a private folder: it is denied (reads and writes).
 * - Reading metadata (stat, realpath) stays allowed everywhere: it shows that a path
 *   exists, not what a file holds or a folder lists.
 * - Processes, the network, Mach services and the terminal are not restricted.
 * Not verified on a Mac (see README): generated, unit-tested, and its launch command run
 * through the iTerm2 emulator (test/terminals/seatbelt-launch.test.ts), which cannot enforce it.
 */
import type { SandboxRules } from './sandbox.js';

export interface SeatbeltProfile {
  /** The profile text; holds no path. */
  profile: string;
  /** Parameter name → path. */
  params: [string, string][];
}

export function seatbeltProfile(r: SandboxRules): SeatbeltProfile {
  const params: [string, string][] = [];
  const param = (path: string): string => {
    const name = `P${params.length}`;
    params.push([name, path]);
    return `(param "${name}")`;
  };
  const lines = [
    '(version 1)',
    '(allow default)',
    // Everything is hidden to start with; the rules below open what they show.
    '(deny file-read* file-write*)',
    '(allow file-read-metadata)',
    // The terminal and the null device; /dev/fd for shells' process substitution.
    '(allow file-read* file-write* (literal "/dev/null") (literal "/dev/tty") (literal "/dev/zero") (regex #"^/dev/ttys[0-9]+$") (subpath "/dev/fd"))',
    '(allow file-read* (literal "/dev/random") (literal "/dev/urandom") (literal "/") )',
  ];
  for (const rule of r.rules) {
    // Both a folder and what is below it.
    const where = `(subpath ${param(rule.path)})`;
    switch (rule.access) {
      case 'read':
        lines.push(`(deny file-write* ${where})`, `(allow file-read* ${where})`);
        break;
      case 'write':
        lines.push(`(allow file-read* file-write* ${where})`);
        break;
      case 'empty':
        lines.push(`(deny file-read* file-write* ${where})`);
        break;
      case 'link':
        // The link itself is readable; what it points to has a rule of its own.
        lines.push(`(allow file-read* (literal ${param(rule.path)}))`);
        break;
    }
  }
  return { profile: lines.join('\n') + '\n', params };
}

/**
 * `sandbox-exec`'s argv for `command`: `-f` the profile file (written by the caller from
 * seatbeltProfile: the profile stays out of `ps`), each path a `-D` parameter, then the
 * command, each an argv element of its own.
 */
export function seatbeltArgv(program: string, profileFile: string, params: readonly [string, string][], command: readonly string[]): string[] {
  return [program, '-f', profileFile, ...params.flatMap(([k, v]) => ['-D', `${k}=${v}`]), ...command];
}
