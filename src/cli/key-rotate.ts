import type { Config } from '../config.js';
import { rotateKey } from '../store/rotate.js';
import { printJson } from './table.js';

/** `tabcrew key rotate`: the state, every kept generation included, under a new key. */
export async function keyRotateCommand(config: Config, opts: { json: boolean }): Promise<number> {
  const r = await rotateKey({ dir: config.stateDir, keySource: config.keySource, keyFile: config.keyFile });
  if (opts.json) {
    printJson(r);
  } else {
    process.stdout.write(`key id ${r.oldKeyId} → ${r.newKeyId} in ${r.where}; ${r.reencrypted.length} files re-encrypted\n`);
    if (r.todo) process.stdout.write(`to finish: ${r.todo}\n`);
  }
  return 0;
}
