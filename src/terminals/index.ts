import type { Config } from '../config.js';
import type { TerminalBackend } from './backend.js';
import { TmuxBackend } from './tmux.js';

/** Picks the terminal backend for --backend; `auto` is tmux until the others land. */
export function createBackend(config: Config): TerminalBackend {
  switch (config.backend) {
    case 'auto':
    case 'tmux':
      return new TmuxBackend({ socket: config.tmuxSocket, runtimeDir: config.runtimeDir });
    case 'iterm2':
    case 'pty':
      throw new Error(
        `--backend ${config.backend} is not available in this version of tabcrew yet; use --backend tmux (or auto).`,
      );
  }
}
