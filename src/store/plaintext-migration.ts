import { readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { jsonCodec, StateDecodeError } from './codec.js';
import { fsyncDir, readIfExists, scrub } from './files.js';
import { StateUnreadableError } from './state-problems.js';
import type { State } from './types.js';
import { parseState } from './validate.js';

export const LEGACY_STATE_FILE = 'state.json';

/**
 * Moves the previous version's plaintext state.json into the encrypted state (through `save`)
 * and erases the plaintext, with the write-file-atomic temp files it left. Runs under the lock.
 */
export async function migratePlaintext(
  where: { dir: string; file: string; generations: string[] },
  save: (state: State) => Promise<void>,
  notice: (text: string) => void,
): Promise<void> {
  if (basename(where.file) === LEGACY_STATE_FILE) return;
  const legacy = join(where.dir, LEGACY_STATE_FILE);
  // The previous version's write-file-atomic temp files (state.json.<number>) are plaintext too.
  const leftovers = (await readdir(where.dir)).filter((n) => n.startsWith(`${LEGACY_STATE_FILE}.`)).map((n) => join(where.dir, n));
  const bytes = await readIfExists(legacy);
  if (!bytes && leftovers.length === 0) return;
  if (bytes) {
    const encryptedExists = (await Promise.all(where.generations.map(readIfExists))).some(Boolean);
    if (encryptedExists) {
      // Only an interrupted migration leaves both: the encrypted copy was written first.
      notice(`Erased ${legacy}, a plaintext copy left beside the encrypted ${where.file} by an interrupted migration.`);
    } else {
      await save(decodePlaintext(legacy, bytes));
      notice(
        `Moved the plaintext state ${legacy} into the encrypted ${where.file} and erased the plaintext ` +
          '(overwritten, then deleted; copies in backups, snapshots or SSD spare blocks are beyond tabcrew’s reach).',
      );
    }
  }
  for (const file of bytes ? [legacy, ...leftovers] : leftovers) await scrub(file);
  await fsyncDir(where.dir);
}

function decodePlaintext(file: string, bytes: Buffer): State {
  try {
    return parseState(jsonCodec.decode(bytes, file));
  } catch (e) {
    const detail = e instanceof StateDecodeError ? e.detail : (e as Error).message;
    throw new StateUnreadableError(
      `The state file ${file} ${detail}. It was left untouched: restore it from a backup, or move it aside to start empty.`,
      file,
      e instanceof StateDecodeError ? e.kind : 'damaged',
    );
  }
}
