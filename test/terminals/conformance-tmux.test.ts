import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { TmuxBackend } from '../../src/terminals/tmux.js';
import { conformance } from './conformance.js';
import { FOREVER, killTmuxServer, node, PATH, tmuxSocket } from './fixtures.js';

conformance('tmux', async () => {
  // A tmux server of this file's own; the user's default server is never touched.
  const socket = tmuxSocket('tabcrew-conf');
  const runtimeDir = realpathSync(mkdtempSync(join(tmpdir(), 'tabcrew-conf-tmux-')));
  const backend = new TmuxBackend({ socket, runtimeDir });
  // tmux exits with its last window, and a createTab racing that exit fails ("server
  // exited unexpectedly", "no current target"). The suite closes every tab it opens, so
  // a tab of its own keeps the server up; the race is reported separately.
  await backend.createTab({
    group: 'conf-keeper',
    cwd: runtimeDir,
    argv: [node, '-e', FOREVER],
    env: { PATH },
    title: 'keeper',
    tag: 'conformance-keeper',
  });
  return {
    backend,
    async cleanup() {
      killTmuxServer(socket);
      rmSync(runtimeDir, { recursive: true, force: true });
    },
  };
});
