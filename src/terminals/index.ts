import { existsSync } from 'node:fs';
import type { Config } from '../config.js';
import { findOnPath } from '../util/find-on-path.js';
import type { BackendName, TerminalBackend } from './backend.js';
import { withSharedReads } from './shared-reads.js';

const ITERM_APPS = ['/Applications/iTerm.app', `${process.env.HOME ?? ''}/Applications/iTerm.app`];

/** What `--backend auto` means on this machine: iTerm2 on a Mac that has it, else tmux, else pty. */
export function chooseBackend(config: Pick<Config, 'backend'>, platform = process.platform, path = process.env.PATH): BackendName {
  if (config.backend !== 'auto') return config.backend;
  if (platform === 'darwin' && ITERM_APPS.some((app) => existsSync(app))) return 'iterm2';
  if (findOnPath('tmux', path)) return 'tmux';
  return 'pty';
}

/**
 * Loads only the chosen backend (the PTY one pulls in a terminal model that tmux users never
 * need), with reads made at the same moment sharing round trips (shared-reads.ts).
 */
export async function createBackend(config: Config): Promise<TerminalBackend> {
  return withSharedReads(await loadBackend(config));
}

async function loadBackend(config: Config): Promise<TerminalBackend> {
  switch (chooseBackend(config)) {
    case 'iterm2':
      return new (await import('./iterm2.js')).ITerm2Backend({ runtimeDir: config.runtimeDir });
    case 'pty':
      return new (await import('./pty.js')).PtyBackend({});
    case 'tmux':
      return new (await import('./tmux.js')).TmuxBackend({ socket: config.tmuxSocket, runtimeDir: config.runtimeDir });
  }
}
