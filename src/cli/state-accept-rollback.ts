import type { Config } from '../config.js';
import { openStateStore } from '../store/state-store.js';
import { printJson } from './table.js';

/** `tabcrew state accept-rollback`: take the newest readable generation as the state, although tabcrew wrote a newer one. */
export async function stateAcceptRollbackCommand(config: Config, opts: { json: boolean }): Promise<number> {
  const store = await openStateStore({ dir: config.stateDir, keySource: config.keySource, keyFile: config.keyFile, readOnOpen: false });
  for (const notice of store.notices) process.stderr.write(`tabcrew: ${notice}\n`);
  const r = await store.acceptRollback();
  if (opts.json) {
    printJson(r);
  } else if (!r.changed) {
    process.stdout.write(`nothing to accept: ${r.file} is the newest state (generation ${r.acceptedGeneration})\n`);
  } else {
    const was = r.markGeneration === null ? 'the high-water mark was missing or not authentic' : `tabcrew had written generation ${r.markGeneration}`;
    process.stdout.write(`accepted ${r.file} (generation ${r.acceptedGeneration}; ${was}); saved as generation ${r.generation}\n`);
  }
  return 0;
}
