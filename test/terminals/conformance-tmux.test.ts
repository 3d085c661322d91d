import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { TmuxBackend } from '../../src/terminals/tmux.js';
import { conformance } from './conformance.js';

conformance('tmux', async () => {
  // A tmux server of this file's own; the user's default server is never touched.
  const socket = `tabcrew-conf-${process.pid}-${randomBytes(4).toString('hex')}`;
  const runtimeDir = realpathSync(mkdtempSync(join(tmpdir(), 'tabcrew-conf-tmux-')));
  const backend = new TmuxBackend({ socket, runtimeDir });
  // tmux exits with its last window, and a createTab racing that exit fails ("server
  // exited unexpectedly", "no current target"). The suite closes every tab it opens, so
  // a tab of its own keeps the server up; the race is reported separately.
  await backend.createTab({
    group: 'conf-keeper',
    cwd: runtimeDir,
    argv: [process.execPath, '-e', 'setInterval(() => {}, 60_000)'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    title: 'keeper',
    tag: 'conformance-keeper',
  });
  return {
    backend,
    async cleanup() {
      try {
        execFileSync('tmux', ['-L', socket, 'kill-server'], { stdio: 'ignore' });
      } catch {
        // no server left to kill
      }
      // tmux leaves its socket file behind when the server exits.
      const socketDir = join(process.env.TMUX_TMPDIR ?? '/tmp', `tmux-${process.getuid?.() ?? 0}`);
      rmSync(join(socketDir, socket), { force: true });
      rmSync(runtimeDir, { recursive: true, force: true });
    },
  };
});
