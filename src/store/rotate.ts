import { resolve } from 'node:path';
import { EncryptedCodec, keyIdOf, newStateKey, sealState, sodiumReady } from './crypto-codec.js';
import { ENV_KEY, ENV_NEXT_KEY, openKeys, reloadKeys, StateKeyError, type KeyOptions } from './keys.js';
import { replaceFile } from './files.js';
import { sealMark } from './mark.js';
import { hasEncryptedState, StateStore, type StateStoreOptions } from './state-store.js';
import type { State } from './types.js';

/** The durable steps of a rotation, in order; a crash after any of them is recoverable. */
export type RotateStep = 'checked' | 'next-key-saved' | 'file-reencrypted' | 'switched';

export interface RotateKeyOptions extends KeyOptions, StateStoreOptions {
  dir: string;
  /** Called after each step; tests throw from it to stand for a crash at that point. */
  afterStep?: (step: RotateStep, file?: string) => void | Promise<void>;
}

export interface RotateKeyResult {
  oldKeyId: string;
  newKeyId: string;
  /** Where the key lives (keychain item, key file, environment variable). */
  where: string;
  /** Every generation file now encrypted under the new key. */
  reencrypted: string[];
  /** False for an env key: tabcrew cannot change its parent's environment. */
  switched: boolean;
  /** What the user must still do, or null. */
  todo: string | null;
}

/**
 * Re-encrypts every generation under a new key. The order makes a crash at any point
 * harmless: (1) every file is checked to open, so none is stranded under a key about to be
 * dropped; (2) the new key is saved in the key store's `next` slot, beside the current
 * one; (3) each file is atomically replaced by its re-encryption — meanwhile readers open
 * each file with whichever of the two keys its header names; (4) `next` becomes current.
 * Run again after a crash, it resumes with the saved `next` key instead of making another.
 */
export async function rotateKey(opts: RotateKeyOptions): Promise<RotateKeyResult> {
  await sodiumReady();
  const dir = resolve(opts.dir);
  const hasState = await hasEncryptedState(dir);
  const keys = await openKeys({ ...opts, stateDir: dir, mayCreate: false }).catch((e: unknown) => {
    if (hasState || !(e instanceof StateKeyError)) throw e;
    throw new StateKeyError(`There is nothing to rotate in ${dir} yet: no state and no state key. tabcrew makes a key on its first start.`);
  });
  const codec = await EncryptedCodec.create(keys, { where: keys.store.where, reload: () => reloadKeys(keys.store) });
  const store = new StateStore(dir, codec, { lockStaleMs: opts.lockStaleMs });
  await store.init();
  const step = async (s: RotateStep, file?: string) => opts.afterStep?.(s, file);

  return store.exclusive(async () => {
    const states: Array<[string, State]> = [];
    for (const file of store.generations) {
      const state = await store.readGeneration(file);
      if (state) states.push([file, state]);
    }
    // A mark that does not verify stops the rotation too: re-MACing it would launder it.
    const mark = await store.readMark();
    await step('checked');

    let next = keys.next;
    if (!next) {
      if (keys.store.source === 'env') {
        throw new StateKeyError(
          `To rotate a key given in ${ENV_KEY}, put the new key in ${ENV_NEXT_KEY} (make one with: openssl rand -base64 32) and run this again; ` +
            `afterwards make it the value of ${ENV_KEY} and unset ${ENV_NEXT_KEY}.`,
        );
      }
      await keys.store.putNext(newStateKey());
      // Encrypt with what the store holds, not with what was handed to it.
      next = await keys.store.get('next');
      if (!next) throw new StateKeyError(`${keys.store.where} did not keep the new key; nothing was re-encrypted. Try again.`);
    }
    await step('next-key-saved');

    const reencrypted: string[] = [];
    for (const [file, state] of states) {
      await replaceFile(file, sealState(state, next));
      reencrypted.push(file);
      await step('file-reencrypted', file);
    }
    // Before the switch: until then readers hold both keys, so the mark verifies under either.
    if (mark !== null) await replaceFile(store.markFile, sealMark(mark, next));

    const result = { oldKeyId: keyIdOf(keys.current), newKeyId: keyIdOf(next), where: keys.store.where, reencrypted };
    if (keys.store.source === 'env') {
      return {
        ...result,
        switched: false,
        todo: `Now set ${ENV_KEY} to the value of ${ENV_NEXT_KEY} and unset ${ENV_NEXT_KEY}; until then keep both set (tabcrew reads with both and writes with the new one).`,
      };
    }
    await keys.store.promote();
    await step('switched');
    return { ...result, switched: true, todo: null };
  });
}
