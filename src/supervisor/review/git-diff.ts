import { lstat } from 'node:fs/promises';
import { isAbsolute, join, normalize, relative, sep } from 'node:path';
import { GitError, runGit } from '../../git/run-git.js';
import { UserError } from '../errors.js';

/*
 * What changed in a checkout against a commit, read through the one git runner. Paths reach
 * git only as literal pathspecs after `--` (`:(literal)`: no globbing, no other magic), and
 * renames are not followed (`--no-renames`): a rename is a delete and an add, which is what a
 * merge of the file has to deal with anyway.
 */

export interface ChangedFile {
  path: string;
  /** git's letter: A added, M modified, D deleted, T type changed; `?` untracked (new, not added). */
  status: string;
  /** Lines added and removed; null for a binary file or an untracked one. */
  added: number | null;
  removed: number | null;
}

export async function git(cwd: string, args: string[], purpose: string, okCodes?: number[], input?: string): Promise<string> {
  return (await runGit(args, { cwd, purpose, okCodes, input })).stdout;
}

/** The trimmed output, or undefined when git says no. */
export async function gitOr(cwd: string, args: string[], purpose: string): Promise<string | undefined> {
  try {
    return (await git(cwd, args, purpose)).trim();
  } catch (e) {
    if (e instanceof GitError) return undefined;
    throw e;
  }
}

export const literal = (path: string): string => `:(literal)${path}`;

/**
 * A path the caller names (get_agent_changes `path`): relative, inside the checkout, no
 * control characters. Returned normalised, with `/` separators.
 */
export function checkPath(path: string): string {
  const bad = (why: string) => new UserError(`path "${path.slice(0, 200)}" ${why}; pass a path relative to the agent's checkout, e.g. "src/app.ts".`);
  if (/[\u0000-\u001f\u007f]/u.test(path)) throw bad('holds a control character');
  if (isAbsolute(path)) throw bad('is absolute');
  const n = normalize(path).split(sep).join('/');
  if (n === '.' || n === '..' || n.startsWith('../')) throw bad('leads outside the checkout');
  if (n === '.git' || n.startsWith('.git/')) throw bad("is inside git's own folder");
  return n.replace(/\/$/u, '');
}

/** A path the agent's hooks report (absolute, or relative to its cwd) as a path inside `root`, or undefined outside it. */
export function insideRoot(root: string, file: string, cwd = root): string | undefined {
  const abs = isAbsolute(file) ? file : `${cwd}/${file}`;
  const rel = relative(root, normalize(abs));
  if (!rel || isAbsolute(rel) || rel === '..' || rel.startsWith(`..${sep}`)) return undefined;
  return rel.split(sep).join('/');
}

function splitZ(out: string): string[] {
  const parts = out.split('\0');
  if (parts.at(-1) === '') parts.pop();
  return parts;
}

/** `git diff --name-status` and `--numstat` of `args` (commits, then pathspecs), joined per path. */
async function diffFiles(cwd: string, range: string[], specs: string[]): Promise<ChangedFile[]> {
  const tail = ['--no-renames', '-z', ...range, '--', ...specs];
  const names = splitZ(await git(cwd, ['diff', '--name-status', ...tail], 'list the changed files'));
  const stats = splitZ(await git(cwd, ['diff', '--numstat', ...tail], 'count the changed lines'));
  const counts = new Map<string, [number | null, number | null]>();
  for (const line of stats) {
    const m = /^(-|\d+)\t(-|\d+)\t(.*)$/su.exec(line);
    if (m) counts.set(m[3]!, [m[1] === '-' ? null : Number(m[1]), m[2] === '-' ? null : Number(m[2])]);
  }
  const out: ChangedFile[] = [];
  for (let i = 0; i + 1 < names.length; i += 2) {
    const path = names[i + 1]!;
    const [added, removed] = counts.get(path) ?? [null, null];
    out.push({ path, status: names[i]!.slice(0, 1), added, removed });
  }
  return out;
}

/** Files git does not track yet (ignored ones left out). */
export async function untrackedFiles(cwd: string, specs: string[] = []): Promise<string[]> {
  const out = splitZ(await git(cwd, ['status', '--porcelain', '-z', '--untracked-files=all', '--', ...specs], "read the checkout's status"));
  return out.filter((l) => l.startsWith('?? ')).map((l) => l.slice(3));
}

/** Tracked files with changes not committed (staged or not). */
export async function dirtyTracked(cwd: string): Promise<string[]> {
  const out = splitZ(await git(cwd, ['status', '--porcelain', '-z', '--untracked-files=no'], "read the checkout's status"));
  // A rename entry is followed by its source path as a field of its own.
  const paths: string[] = [];
  for (let i = 0; i < out.length; i++) {
    const l = out[i]!;
    paths.push(l.slice(3));
    if (l[0] === 'R' || l[0] === 'C') i++;
  }
  return paths;
}

/** Everything that differs between commit `from` and the checkout's working tree (committed or not, untracked included). */
export async function changesSince(cwd: string, from: string, paths: string[] = []): Promise<ChangedFile[]> {
  const specs = paths.map(literal);
  const tracked = await diffFiles(cwd, [from], specs);
  const untracked = await untrackedFiles(cwd, specs);
  return [...tracked, ...untracked.map((path) => ({ path, status: '?', added: null, removed: null }))].sort((a, b) => (a.path < b.path ? -1 : 1));
}

/** Files that differ between two commits. */
export async function changesBetween(cwd: string, a: string, b: string, paths: string[] = []): Promise<ChangedFile[]> {
  return diffFiles(cwd, [a, b], paths.map(literal));
}

/**
 * The unified diff from `from` to the working tree, untracked files as new ones, cut at
 * `maxBytes` (at a line end).
 */
export async function patchSince(cwd: string, from: string, paths: string[], maxBytes: number): Promise<{ patch: string; truncated: boolean }> {
  const specs = paths.map(literal);
  let whole: string;
  try {
    whole = await git(cwd, ['diff', '--no-renames', from, '--', ...specs], 'write the diff');
  } catch (e) {
    // The runner stops git past 8 MB of output.
    if (e instanceof GitError && e.code === null && /wrote more than/u.test(e.message)) {
      throw new UserError(
        'the diff is larger than tabcrew reads at once (8 MB); pass path to see one file or folder, or leave patch off for the list of files.',
      );
    }
    throw e;
  }
  const parts = [whole];
  let size = Buffer.byteLength(whole);
  for (const file of await untrackedFiles(cwd, specs)) {
    if (size > maxBytes) break;
    // A new file larger than what is left would be cut anyway: not read at all.
    const st = await lstat(join(cwd, file)).catch(() => undefined);
    if (!st || st.size > maxBytes - size + 4096) {
      size = maxBytes + 1;
      break;
    }
    // --no-index exits 1 when the files differ, which is the answer here.
    const p = await git(cwd, ['diff', '--no-index', '--', '/dev/null', file], 'write the diff of a new file', [1]);
    parts.push(p);
    size += Buffer.byteLength(p);
  }
  const cut = cutPatch(parts.join(''), maxBytes);
  return size > maxBytes ? { ...cut, truncated: true } : cut;
}

/** The text cut to at most maxBytes, at a line end when there is one. */
export function cutPatch(text: string, maxBytes: number): { patch: string; truncated: boolean } {
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= maxBytes) return { patch: text, truncated: false };
  const head = buf.subarray(0, maxBytes).toString('utf8');
  const end = head.lastIndexOf('\n');
  return { patch: end > 0 ? head.slice(0, end + 1) : head.replace(/\uFFFD$/u, ''), truncated: true };
}
