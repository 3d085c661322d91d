import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { TerminalError, type TabLaunch } from './backend.js';

/*
 * What a PTY launch is checked for before its program starts: values a program cannot
 * receive, and a program or working directory that is not there (node-pty's child would
 * only print `execvp(3) failed.`).
 */

// execvp's search path when the environment has no PATH (glibc and BSD libc).
const DEFAULT_PATH = '/bin:/usr/bin';

export interface StartProblem {
  message: string;
  /** The status the tmux launcher (and a shell) gives the same failure. */
  status: number;
}

/**
 * Why the program cannot start, checked beforehand: node-pty's child would only print
 * a bare `execvp(3) failed.` and exit 1, which says neither what nor where.
 */
export async function startProblem(cwd: string, program: string, path: string | undefined): Promise<StartProblem | undefined> {
  const dirOk = await stat(cwd).then(
    (s) => s.isDirectory(),
    () => false,
  );
  const dirUsable =
    dirOk &&
    (await access(cwd, constants.X_OK).then(
      () => true,
      () => false,
    ));
  if (!dirUsable) {
    return { message: `working directory '${cwd}' does not exist (or is not accessible); cannot start ${program}.`, status: 1 };
  }
  // execvp's rules: a name with a slash is a path (relative to the program's cwd),
  // any other name is looked up on the program's own PATH.
  const candidates = program.includes('/')
    ? [isAbsolute(program) ? program : resolve(cwd, program)]
    : (path ?? DEFAULT_PATH).split(delimiter).map((dir) => join(resolve(cwd, dir || '.'), program));
  let found = false;
  for (const file of candidates) {
    if (
      !(await stat(file).then(
        (s) => s.isFile(),
        () => false,
      ))
    )
      continue;
    found = true;
    if (
      await access(file, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return undefined;
  }
  return found
    ? { message: `could not start '${program}' (exit status 126): permission denied.`, status: 126 }
    : { message: `could not start '${program}' (exit status 127): no such program${program.includes('/') ? '' : ' on PATH'}.`, status: 127 };
}

export function checkLaunch(launch: TabLaunch): void {
  const fail = (why: string): never => {
    throw new TerminalError(`cannot start a tab: ${why}`, 'failed');
  };
  // A C string ends at NUL, so a value holding one would reach the program cut short.
  const noNul = (what: string, value: string) => {
    if (value.includes('\0')) fail(`${what} contains a NUL character, which a program cannot receive`);
  };
  if (launch.tag === '' || launch.tag.includes('\0')) fail('a tab tag must be a non-empty string without NUL');
  if (!launch.cwd.startsWith('/')) fail(`working directory must be an absolute path, got ${JSON.stringify(launch.cwd)}`);
  noNul('working directory', launch.cwd);
  if (launch.argv.length === 0 || launch.argv[0] === '') fail('argv must name a program to run');
  launch.argv.forEach((a, i) => noNul(`argv[${i}]`, a));
  for (const [key, value] of Object.entries(launch.env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      fail(`environment variable name ${JSON.stringify(key)} is not a valid name (letters, digits, _)`);
    }
    noNul(`environment variable ${key}`, value);
  }
}
