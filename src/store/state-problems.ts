import { stat } from 'node:fs/promises';
import { StateDecodeError, type DecodeFailure, type StateCodec } from './codec.js';
import { readIfExists } from './files.js';
import { ENV_KEY } from './keys.js';
import type { State } from './types.js';
import { parseState } from './validate.js';

/*
 * What the store says when it cannot go on: which file, what is wrong with it, that nothing
 * was touched, and what to do (an older generation to fall back on, the command that accepts
 * a rollback, the key to give).
 */

export class StateUnreadableError extends Error {
  override name = 'StateUnreadableError';
  constructor(
    message: string,
    readonly file?: string,
    readonly reason?: DecodeFailure,
  ) {
    super(message);
  }
}

/** What a person runs to take an older state as the newest (src/cli/state-accept-rollback.ts). */
export const ACCEPT_ROLLBACK_COMMAND = 'tabcrew state accept-rollback';

/** The files of one state dir, as the messages name them. */
export interface StateFiles {
  dir: string;
  /** The newest generation. */
  file: string;
  markFile: string;
  /** The newest generation first. */
  generations: string[];
  codec: StateCodec;
  /** Where the key was looked for and how to give another (keys.ts keyHelp). */
  keyHelp?: string;
}

/**
 * The refusal of a state below the high-water mark (or of a missing mark once the state is
 * past generation 1); undefined when the state is not a rollback.
 */
export function rollbackError(f: StateFiles, file: string, state: State, mark: number | null, missing = false): StateUnreadableError | undefined {
  let what: string;
  if (mark !== null && state.generation < mark) {
    what = missing
      ? `${file} and its earlier generations are missing, but tabcrew has written generation ${mark} of this state (${f.markFile} says so)`
      : `${file} holds generation ${state.generation} of the state, but tabcrew has written generation ${mark} (${f.markFile} says so)`;
  } else if (mark === null && state.generation > 1) {
    // The mark exists from the first save of a version-2 state on; only removing it makes it missing.
    what = `${file} holds generation ${state.generation} of the state, but the high-water mark ${f.markFile} that records the newest generation is missing`;
  } else {
    return undefined;
  }
  return new StateUnreadableError(
    `tabcrew refuses a rolled-back state: ${what}. An older state was copied over the newest, or the newest was moved aside or deleted; ` +
      `sessions and agents created since would be forgotten. tabcrew stopped and left every file untouched. ` +
      `Restore the newest state from a backup if you have it; or, to carry on from this older state, accept it: ${ACCEPT_ROLLBACK_COMMAND} --state-dir ${f.dir}`,
    file,
    'rollback',
  );
}

/** The refusal of a high-water mark that is not authentic. */
export function markError(f: StateFiles, problem: string): StateUnreadableError {
  return new StateUnreadableError(
    `tabcrew cannot trust its high-water mark: ${f.markFile} ${problem}. tabcrew stopped and left the state untouched. ` +
      `If the key is right and the state is the one you want, accept it as the newest: ${ACCEPT_ROLLBACK_COMMAND} --state-dir ${f.dir}`,
    f.markFile,
    'tampered',
  );
}

/** Says which file, what is wrong with it, that it was not touched, and what to do. */
export async function explainUnreadable(f: StateFiles, file: string, e: unknown): Promise<Error> {
  if (e instanceof StateUnreadableError) return new StateUnreadableError(`${e.message} ${await olderGenerationHint(f, file)}`, file, e.reason);
  if (!(e instanceof StateDecodeError)) return e as Error;
  const head = `tabcrew cannot read its state: ${file} ${e.detail}. tabcrew stopped and left the file untouched.`;
  switch (e.kind) {
    case 'wrong-key':
      return new StateUnreadableError(
        `${head} The key tabcrew was given is ${f.codec.keyDescription?.() ?? 'another one'}. ` +
          (f.keyHelp ?? `Give the key this state was written with: --key-source keychain|file|env, --key-file <path>, or ${ENV_KEY}=<base64>.`) +
          ' (A key id is a keyed hash that names a key without revealing it.)',
        file,
        e.kind,
      );
    case 'newer-format':
      return new StateUnreadableError(
        `${head} Upgrade tabcrew to the version that wrote it (npm install -g tabcrew@latest).${e.extra.range ? ` ${await olderGenerationHint(f, file)}` : ''}`,
        file,
        e.kind,
      );
    default:
      return new StateUnreadableError(`${head} ${await olderGenerationHint(f, file)}`, file, e.kind);
  }
}

async function olderGenerationHint(f: StateFiles, file: string): Promise<string> {
  const at = f.generations.indexOf(file);
  const older = at < 0 ? [] : f.generations.slice(at + 1);
  for (const candidate of older) {
    const bytes = await readIfExists(candidate);
    if (!bytes) continue;
    try {
      const state = parseState(f.codec.decode(bytes, candidate));
      const when = (await stat(candidate)).mtime.toISOString();
      return (
        `The earlier generation ${candidate} (saved ${when}, generation ${state.generation}, ${state.agents.length} agents) is intact: ` +
        `to use it, move the unreadable file aside (mv ${file} ${file}.damaged), accept the older state (${ACCEPT_ROLLBACK_COMMAND} --state-dir ${f.dir}), ` +
        'then start tabcrew again.'
      );
    } catch {
      // try an older one
    }
  }
  return (
    `No earlier generation can be read either. To start with an empty state, move ${f.file}, its numbered generations and ${f.markFile} aside; ` +
    'running agents keep their tabs and are reported as orphans.'
  );
}
