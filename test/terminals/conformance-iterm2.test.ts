import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ITerm2Backend } from '../../src/terminals/iterm2.js';
import { startEmulator } from '../iterm2-emulator/harness.js';
import { conformance, type ConformanceSubject } from './conformance.js';

conformance('iterm2', async () => {
  // An emulated iTerm2 of this file's own (its state, log and tmux server), first on PATH.
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'tabcrew-conf-iterm2-')));
  const emu = startEmulator(root, 'conf');
  emu.install();
  const subject: ConformanceSubject & { pasteAlwaysBracketed: boolean } = {
    backend: new ITerm2Backend({ runtimeDir: join(root, 'runtime') }),
    // iTerm2's scripting cannot tell whether a program asked for bracketed paste, so every
    // paste is bracketed (see write in scripts/applescript/tabcrew.js).
    pasteAlwaysBracketed: true,
    async cleanup() {
      emu.uninstall();
      emu.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
  return subject;
});
