import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/*
 * A repository an agent has made hostile: its .git/config, hooks and .gitattributes name
 * programs that leave a marker file when git runs them. `bareGit` is git as tabcrew ran it
 * before the lockdown (the server's environment, no -c), the control that proves a vector live.
 */

export interface HostileRepo {
  dir: string;
  root: string;
  markers: string;
  /** A script that touches markers/<name> and saves its environment; `filter` passes stdin through. */
  marker(name: string, filter?: boolean): string;
  fired(): string[];
  config(key: string, value: string): void;
  hook(name: string): void;
  commit(file: string, text: string, message: string): void;
}

export function bareGit(cwd: string, args: string[]): string {
  return execFileSync('git', ['-C', cwd, ...args], {
    encoding: 'utf8',
    env: { ...process.env, GIT_TERMINAL_PROMPT: '0' },
    stdio: ['ignore', 'pipe', 'ignore'],
    timeout: 20_000,
  });
}

/** Plain git for building the fixture: nothing hostile is configured yet, or it is turned off. */
function setupGit(cwd: string, args: string[]): void {
  execFileSync('git', ['-c', 'core.hooksPath=/dev/null', '-c', 'core.fsmonitor=false', '-C', cwd, ...args], { stdio: 'ignore' });
}

/** A repository with one commit in a new folder of `parent` (the system's temp dir by default). */
export function hostileRepo(parent = tmpdir()): HostileRepo {
  const dir = mkdtempSync(join(parent, 'tabcrew-git-'));
  const root = join(dir, 'root');
  const markers = join(dir, 'markers');
  mkdirSync(root);
  mkdirSync(markers);
  setupGit(root, ['init', '-q', '-b', 'main']);
  setupGit(root, ['config', 'user.name', 'Fixture']);
  setupGit(root, ['config', 'user.email', 'fixture@example.invalid']);
  const repo: HostileRepo = {
    dir,
    root,
    markers,
    marker(name, filter = false) {
      const script = join(dir, `mark-${name}.sh`);
      writeFileSync(script, `#!/bin/sh\n: > '${join(markers, name)}'\nenv > '${join(markers, name)}.env'\n${filter ? 'exec cat\n' : 'exit 1\n'}`);
      chmodSync(script, 0o755);
      return script;
    },
    fired: () => readdirSync(markers).filter((f) => !f.endsWith('.env')),
    config: (key, value) => setupGit(root, ['config', key, value]),
    hook(name) {
      const hooks = join(root, '.git', 'hooks');
      if (!existsSync(hooks)) mkdirSync(hooks);
      const script = join(hooks, name);
      writeFileSync(script, `#!/bin/sh\n: > '${join(markers, `hook-${name}`)}'\n`);
      chmodSync(script, 0o755);
    },
    commit(file, text, message) {
      writeFileSync(join(root, file), text);
      setupGit(root, ['add', '--', file]);
      setupGit(root, ['-c', 'commit.gpgSign=false', 'commit', '-q', '-m', message]);
    },
  };
  repo.commit('README', 'hello\n', 'first');
  return repo;
}
