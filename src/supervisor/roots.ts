import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, relative, sep } from 'node:path';
import type { SessionRecord } from '../store/types.js';
import { expandHome } from '../util/home-path.js';
import { UserError } from './errors.js';

/** Checks a session root (a leading `~` is the server's HOME) and returns its realpath. */
export async function resolveRoot(given: string, home?: string): Promise<string> {
  const root = expandHome(given, home);
  if (!isAbsolute(root)) {
    throw new UserError(`root "${root}" is not an absolute path: give the full path, e.g. /home/me/project (a leading ~/ is the server's HOME).`);
  }
  let real: string;
  try {
    real = await realpath(root);
  } catch {
    throw new UserError(`root ${root} does not exist: create the directory first or check the path.`);
  }
  if (!(await stat(real)).isDirectory()) {
    throw new UserError(`root ${root} is not a directory: give the directory of the codebase.`);
  }
  return real;
}

function contains(outer: string, inner: string): boolean {
  const rel = relative(outer, inner);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel) && rel.split(sep)[0] !== '..');
}

/** Two sessions on nested roots would let their agents edit each other's files. */
export function overlappingSession(root: string, sessions: readonly SessionRecord[]): SessionRecord | undefined {
  return sessions.find((s) => contains(s.root, root) || contains(root, s.root));
}

export function overlapMessage(root: string, other: SessionRecord): string {
  const how = other.root === root ? 'is the root of' : root.startsWith(other.root) ? 'is inside the root of' : 'contains the root of';
  return (
    `root ${root} ${how} session "${other.name}" (${other.id}, root ${other.root}): ` + 'sessions may not share files. Use that session, or delete it first.'
  );
}
