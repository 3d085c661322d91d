import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { BOUNDARIES_FILE, type BoundariesFile } from '../claude/boundary.js';
import type { Config } from '../config.js';
import type { StateStore } from '../store/state-store.js';
import type { State } from '../store/types.js';
import { realpathOrSelf } from './roster.js';

/**
 * The plaintext list of session roots that agents' PreToolUse hooks consult on every tool
 * call (claude/boundary.ts): Claude Code reads its settings once at launch, so the roots of
 * sessions created later can only reach a running agent through a file.
 */
export function boundariesPath(runtimeDir: string): string {
  return join(runtimeDir, BOUNDARIES_FILE);
}

export type BoundaryDirs = Pick<Config, 'runtimeDir' | 'stateDir' | 'logDir'>;

export function boundariesOf(state: State, dirs: BoundaryDirs): BoundariesFile {
  return {
    version: 1,
    sessions: state.sessions.map((s) => ({ id: s.id, name: s.name, root: s.root })),
    protected: [...new Set([dirs.runtimeDir, dirs.stateDir, dirs.logDir].map(realpathOrSelf))],
  };
}

/**
 * Writes the boundaries file from the newest saved state, holding the state lock: with two
 * tabcrew servers on one state dir, whichever writes last has read the newest state, so
 * the file always converges on the sessions that exist (no generation number is needed).
 * Called after every change to the sessions and when a server starts.
 */
export async function writeBoundaries(store: Pick<StateStore, 'init' | 'exclusive' | 'read'>, dirs: BoundaryDirs): Promise<void> {
  const { runtimeDir } = dirs;
  const file = boundariesPath(runtimeDir);
  await store.init();
  try {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    await store.exclusive(async () => {
      const state = await store.read();
      await writeFileAtomic(file, JSON.stringify(boundariesOf(state, dirs)) + '\n', { mode: 0o600 });
    });
  } catch (e) {
    throw new Error(
      `the session boundaries file ${file} could not be written (${(e as Error).message}): running agents do not see this change to the sessions until it is. ` +
        'Check that the runtime dir is writable, then create or delete a session or restart tabcrew.',
      { cause: e },
    );
  }
}
