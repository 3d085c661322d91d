import type { ZodError } from 'zod';
import { StateDecodeError } from './codec.js';
import { STATE_VERSION, stateSchema, stateV1Schema, type State } from './types.js';

/**
 * Checks a decoded JSON value against the schema of its version and migrates it to the
 * current one. The value itself is returned (migrated in place), not zod's copy: fields this
 * tabcrew does not know are kept, so a newer tabcrew's additions survive an older one's save.
 * Throws StateDecodeError naming the first problem.
 */
export function parseState(value: unknown): State {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new StateDecodeError('invalid', `holds ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}, not a tabcrew state`);
  }
  const version = (value as { version?: unknown }).version;
  if (typeof version === 'number' && Number.isInteger(version) && version > STATE_VERSION) {
    throw new StateDecodeError('newer-format', `holds a state of version ${version}, written by a newer tabcrew (this one reads versions 1–${STATE_VERSION})`, {
      formatVersion: version,
    });
  }
  if (version === 1) {
    const v1 = stateV1Schema.safeParse(value);
    if (!v1.success) throw invalid(v1.error, 1);
    return migrateV1(value as Record<string, unknown>);
  }
  if (version !== STATE_VERSION)
    throw new StateDecodeError('invalid', `holds a state whose version is ${JSON.stringify(version) ?? 'missing'}: not a tabcrew state`);
  const v2 = stateSchema.safeParse(value);
  if (!v2.success) throw invalid(v2.error, STATE_VERSION);
  return value as State;
}

/** Version 1 → 2: a generation count starts at 0; the audit key and head are added by the next save. */
function migrateV1(v1: Record<string, unknown>): State {
  v1.version = 2;
  v1.generation = 0;
  return v1 as unknown as State;
}

function invalid(error: ZodError, version: number): StateDecodeError {
  const first = error.issues[0]!;
  const where = first.path.reduce<string>((s, p) => (typeof p === 'number' ? `${s}[${p}]` : s ? `${s}.${p}` : p), '') || 'the top level';
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more problem${error.issues.length > 2 ? 's' : ''})` : '';
  return new StateDecodeError('invalid', `holds a version ${version} state that fails validation: ${where}: ${first.message}${more}`);
}
