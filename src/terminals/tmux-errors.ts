import type { ExecFileException } from 'node:child_process';
import { TerminalError, type TabHandle } from './backend.js';

/** How long one tmux process may take, and how much it may print. */
export const TIMEOUT_MS = 10_000;
export const MAX_BUFFER = 64 * 1024 * 1024;

/** A TerminalError carrying tmux's stderr, so callers here can tell failures apart. */
export class TmuxError extends TerminalError {
  constructor(
    message: string,
    code: TerminalError['code'],
    readonly stderr: string,
  ) {
    super(message, code);
  }
}

export function toTerminalError(err: ExecFileException, stderr: string, tmux: string): TerminalError {
  if (err.code === 'ENOENT') {
    return new TerminalError(
      `tmux is not installed (or not at ${tmux}). Install it (apt-get install tmux, or brew install tmux) or run tabcrew with --backend pty.`,
      'not_running',
    );
  }
  if (err.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') {
    return new TmuxError(`tmux printed more than ${MAX_BUFFER} bytes`, 'failed', stderr);
  }
  if (err.killed) return new TmuxError(`tmux did not answer within ${TIMEOUT_MS / 1000} s`, 'timeout', stderr);
  const text = stderr.trim() || err.message;
  const gone = /can't find (pane|window)|no server running|error connecting to/.test(text);
  return new TmuxError(`tmux: ${text}`, gone ? 'tab_gone' : 'failed', stderr);
}

export function hasStderr(err: unknown, pattern: RegExp): boolean {
  return err instanceof TmuxError && pattern.test(err.stderr);
}

export function asTabGone(err: unknown, tab: TabHandle): unknown {
  if (err instanceof TerminalError && err.code === 'tab_gone') {
    return new TerminalError(`tab ${tab.id} is gone (${err.message})`, 'tab_gone');
  }
  return err;
}
