import { homedir } from 'node:os';

/**
 * A leading `~` or `~/` as a shell would read it: this process's HOME. A person writes
 * `~/code/app` in a chat or a JSON config, where no shell expands it. `~user` is left as
 * it is (and then refused as not absolute where an absolute path is wanted).
 */
export function expandHome(path: string, home: string = homedir()): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return home.replace(/\/+$/, '') + path.slice(1);
  return path;
}
