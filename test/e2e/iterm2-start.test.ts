import { delimiter } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EMULATOR_DIR, startEmulator } from '../iterm2-emulator/harness.js';
import { startTabcrew } from '../support/tabcrew.js';

const base = mkdtempSync(join(tmpdir(), 'tabcrew-iterm2-start-'));
const emu = startEmulator(base, 'start');
afterAll(() => {
  emu.stop();
  rmSync(base, { recursive: true, force: true });
});

describe('starting on iTerm2', () => {
  it('a denied Automation permission is reported at start, saying where to allow it', async () => {
    const env = { ...process.env, ...emu.env, TABCREW_EMULATOR_MODE: 'denied', PATH: `${EMULATOR_DIR}${delimiter}${process.env.PATH}` } as Record<
      string,
      string
    >;
    const crew = await startTabcrew({ env, args: ['--backend', 'iterm2'] });
    try {
      await crew.ok('list_sessions');
      const deadline = Date.now() + 15_000;
      while (!/Automation/.test(crew.stderr()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(crew.stderr()).toMatch(/backend iterm2 \(from --backend\)/);
      expect(crew.stderr()).toMatch(/Privacy & Security › Automation/);
    } finally {
      await crew.stop();
    }
  });
});
