/*
 * What tabcrew turns off in every git it runs (docs/security.md, "How tabcrew runs git").
 * An agent can write its repository's .git/config, its hooks and its .gitattributes (they
 * lie inside the session root it may edit), so nothing a repository says may run a program
 * inside tabcrew's git. Command-line configuration (-c) outranks every config file, the
 * user's own included, so these hold whatever the repository sets.
 */

/** Settings that would run a program, each replaced by one that runs nothing (or `false`). */
export const LOCKED_CONFIG: readonly (readonly [string, string])[] = [
  ['core.fsmonitor', 'false'],
  // A directory that cannot hold hooks: git looks for /dev/null/<hook> and finds none.
  ['core.hooksPath', '/dev/null'],
  ['core.sshCommand', 'false'],
  ['core.askPass', ''],
  // An empty value empties the list of helpers gathered from every config file.
  ['credential.helper', ''],
  ['core.pager', 'cat'],
  ['core.editor', 'false'],
  ['sequence.editor', 'false'],
  // A submodule's `update = !command` in .git/config runs when git recurses into it.
  ['submodule.recurse', 'false'],
  ['log.showSignature', 'false'],
  ['commit.gpgSign', 'false'],
  ['tag.gpgSign', 'false'],
  ['gpg.program', 'false'],
  ['gpg.openpgp.program', 'false'],
  ['gpg.x509.program', 'false'],
  ['gpg.ssh.program', 'false'],
  // A submodule is a repository of its own, whose drivers the runner never read: git is not
  // to look into one (a status would run `git status` there). Commands given
  // --ignore-submodules=all below; this is the default for the rest.
  ['diff.ignoreSubmodules', 'all'],
  // No background `git gc --auto`/maintenance child outliving the call.
  ['gc.auto', '0'],
  ['maintenance.auto', 'false'],
];

/**
 * Filters and merge drivers are named by .gitattributes (which the agent writes) and defined
 * in config under names only the repository knows, so -c cannot switch them off wholesale:
 * the runner asks git for the names defined (every scope) and empties each one's commands.
 * An empty clean/smudge/process is "no filter" to git; `required` would turn that into an
 * error, so it is lifted. A merge driver set to `false` reports a conflict for its paths.
 */
export const DRIVER_KEYS = /^(filter\..+\.(clean|smudge|process|required)|merge\..+\.driver)$/i;

export function driverOverrides(keys: readonly string[]): [string, string][] {
  const out = new Map<string, string>();
  for (const key of keys) {
    const m = /^(filter|merge)\.(.+)\.[^.]+$/i.exec(key);
    if (!m) continue;
    const [, kind, name] = m;
    // git splits `-c name=value` at the first '=': a name holding one cannot be addressed.
    if (name!.includes('='))
      throw new Error(`the repository's config defines a ${kind!.toLowerCase()} driver named "${name}" (with "="), which tabcrew cannot switch off`);
    if (kind!.toLowerCase() === 'filter') {
      for (const k of ['clean', 'smudge', 'process']) out.set(`filter.${name}.${k}`, '');
      out.set(`filter.${name}.required`, 'false');
    } else {
      out.set(`merge.${name}.driver`, 'false');
    }
  }
  return [...out];
}

/**
 * Options put right after the subcommand of commands that show file content: no external
 * diff program (diff.external, a driver's `command`), no textconv program, no colour codes;
 * and for those that compare the work tree, no look into submodules (a per-submodule
 * `ignore` setting outranks diff.ignoreSubmodules, the command-line option outranks both).
 */
const CONTENT_FLAGS: Readonly<Record<string, readonly string[]>> = {
  status: ['--ignore-submodules=all'],
  diff: ['--no-ext-diff', '--no-textconv', '--no-color', '--ignore-submodules=all'],
  log: ['--no-ext-diff', '--no-textconv', '--no-color'],
  show: ['--no-ext-diff', '--no-textconv', '--no-color'],
  whatchanged: ['--no-ext-diff', '--no-textconv', '--no-color'],
  'format-patch': ['--no-ext-diff', '--no-textconv'],
  'diff-tree': ['--no-ext-diff', '--no-textconv'],
  'diff-index': ['--no-ext-diff', '--no-textconv', '--ignore-submodules=all'],
  'diff-files': ['--no-ext-diff', '--no-textconv', '--ignore-submodules=all'],
  blame: ['--no-textconv'],
  annotate: ['--no-textconv'],
  grep: ['--no-textconv'],
};

export function contentFlags(subcommand: string): readonly string[] {
  return Object.hasOwn(CONTENT_FLAGS, subcommand) ? CONTENT_FLAGS[subcommand]! : [];
}

/**
 * The variables git gets from tabcrew's environment: where programs are, the user's own
 * config (~/.gitconfig, $XDG_CONFIG_HOME/git: theirs, not the agent's, and every setting
 * above outranks it), a temp dir and the locale. Nothing else: not the state key, no API
 * key or token, no GIT_DIR/GIT_WORK_TREE a parent process might have set.
 */
const PASSED_ENV = ['PATH', 'HOME', 'XDG_CONFIG_HOME', 'TMPDIR', 'LANG', 'LC_ALL', 'LC_CTYPE', 'LC_MESSAGES'];

export function gitEnv(from: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of PASSED_ENV) if (from[name] !== undefined) env[name] = from[name];
  return {
    ...env,
    GIT_TERMINAL_PROMPT: '0',
    // An empty allow-list: no transport at all (ssh, http, file, ext, remote helpers). Unlike
    // -c protocol.allow=never, the variable outranks a repository's protocol.<name>.allow.
    GIT_ALLOW_PROTOCOL: '',
    // A status read does not take index.lock, so it never gets in the way of the agent's own git.
    GIT_OPTIONAL_LOCKS: '0',
  };
}
