import type { ExecFileException } from 'node:child_process';
import { TerminalError } from './backend.js';

/*
 * What an osascript run that failed means for the person at the machine: an iTerm2 that is
 * not running, an Automation grant missing for the app that runs tabcrew, a dialog waiting.
 */

/** The operations of scripts/applescript/tabcrew.js, passed as `op`. */
export type Script = 'create-tab' | 'list-tabs' | 'read-screens' | 'write' | 'close-tab' | 'preflight';

/** An osascript run that failed: its error number (`… (-1743)`) when it printed one. */
export class OsascriptFailure extends Error {
  constructor(
    message: string,
    readonly number: number | undefined,
    readonly exec: ExecFileException,
  ) {
    super(message);
  }

  static from(err: ExecFileException, stderr: string): OsascriptFailure {
    // osascript: "FILE: execution error: Error: Error: Can't get object. (-1728)"
    const m = /execution error: ([\s\S]*?)\s*\((-?\d+)\)\s*$/.exec(stderr.trim());
    if (!m) return new OsascriptFailure(stderr.trim() || err.message, undefined, err);
    const message = m[1]!.replace(/^(Error: )+/, '').replace(/^Error on line \d+: /, '');
    return new OsascriptFailure(message, Number(m[2]), err);
  }
}

export function toTerminalError(err: unknown, script: Script, osascript: string, timeoutMs: number, launchWaitMs: number): unknown {
  if (!(err instanceof OsascriptFailure)) return err;
  const name = script;
  if (err.exec.code === 'ENOENT') {
    return new TerminalError(
      `osascript was not found (${osascript} on PATH): the iTerm2 backend runs on macOS only; elsewhere use --backend tmux.`,
      'not_running',
    );
  }
  if (err.exec.killed) {
    return new TerminalError(
      `iTerm2 did not answer ${name} within ${timeoutMs / 1000} s. A dialog may be waiting: macOS asking whether ` +
        `${hostApp().name} may control iTerm2, or an iTerm2 sheet. Answer it and try again.`,
      'timeout',
    );
  }
  const detail = `${err.message} (${err.number ?? 'no error number'})`;
  switch (err.number) {
    case -600:
      return new TerminalError(
        `iTerm2 is not running and did not start within ${Math.round(launchWaitMs / 1000)} s (${detail}). ` + 'Start it (open -a iTerm) and try again.',
        'not_running',
      );
    case -1743: {
      const app = hostApp();
      const reset = app.bundleId ? `tccutil reset AppleEvents ${app.bundleId}` : 'tccutil reset AppleEvents';
      return new TerminalError(
        `tabcrew is not allowed to control iTerm2 (${detail}). Open System Settings › Privacy & Security › Automation › ` +
          `allow ${app.name} to control iTerm2, then try again. If iTerm2 is not listed there, run \`${reset}\` and ` +
          'answer the prompt that the next try shows.',
        'denied',
      );
    }
    case -1728:
      return new TerminalError(`iTerm2 no longer has what ${name} addressed: it was closed meanwhile (${detail}).`, 'tab_gone');
    case -1712:
      return new TerminalError(
        `iTerm2 did not answer ${name} in time (${detail}). A dialog may be waiting: macOS asking whether ` +
          `${hostApp().name} may control iTerm2, or an iTerm2 "close?" sheet. Answer it and try again.`,
        'timeout',
      );
    case -1708:
      return new TerminalError(
        `iTerm2 did not understand a command of ${name} (${detail}): this iTerm2 may be too old; update it (iTerm2 › Check for Updates).`,
        'failed',
      );
    case -2741:
    case -2700:
      return new TerminalError(`tabcrew's iTerm2 script (tabcrew.js) failed in ${name} (${detail}); reinstall tabcrew if this persists.`, 'failed');
    case -128:
      return new TerminalError(`the iTerm2 operation ${name} was cancelled in a dialog (${detail}).`, 'failed');
    default:
      return new TerminalError(`iTerm2 script tabcrew.js failed in ${name}: ${detail}`, 'failed');
  }
}

const KNOWN_APPS: Record<string, string> = {
  'com.anthropic.claudefordesktop': 'Claude',
  'com.microsoft.VSCode': 'Visual Studio Code',
  'com.todesktop.230313mzl4w4u92': 'Cursor',
  'com.apple.Terminal': 'Terminal',
  'com.googlecode.iterm2': 'iTerm2',
  'dev.warp.Warp-Stable': 'Warp',
  'com.mitchellh.ghostty': 'Ghostty',
};

const TERM_PROGRAMS: Record<string, string> = {
  Apple_Terminal: 'Terminal',
  vscode: 'Visual Studio Code',
  'iTerm.app': 'iTerm2',
  WarpTerminal: 'Warp',
  ghostty: 'Ghostty',
};

/**
 * The app macOS asks about: the Automation grant belongs to the responsible parent app
 * (Claude, VS Code, Terminal…), not to tabcrew or osascript (NOTES.md). macOS names its
 * bundle in __CFBundleIdentifier for the processes it starts.
 */
export function hostApp(env: NodeJS.ProcessEnv = process.env): { name: string; bundleId?: string } {
  const bundleId = env.__CFBundleIdentifier;
  if (bundleId) return { name: KNOWN_APPS[bundleId] ?? bundleId, bundleId };
  const program = env.TERM_PROGRAM && TERM_PROGRAMS[env.TERM_PROGRAM];
  if (program) return { name: program };
  return { name: 'the app that runs tabcrew (Claude, Terminal, Visual Studio Code…)' };
}
