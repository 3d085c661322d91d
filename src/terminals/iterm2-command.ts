/*
 * The one line tabcrew types into a new iTerm2 tab's login shell: a constant command that
 * starts the launcher and reports the program's pid and exit status to iTerm2.
 */

// `write text` is cut near 1024 characters while the tty is in canonical mode, which it
// is when the shell has not started its line editor yet (NOTES.md).
const MAX_COMMAND_CHARS = 1000;

/**
 * What the tab's shell runs (constant; only the two paths vary, and they are checked).
 * The dictionary has no property telling whether a tab's program still runs, or its pid,
 * so the command reports both with iTerm2's SetUserVar escape code (NOTES.md):
 * user.tabcrew_pid when the program starts, user.tabcrew_exit (its exit status, 128+N for
 * a signal) when it ends. The program's pid is that of an inner `bash -c` (`$$`, which
 * /bin/bash 3.2 on macOS has, unlike $BASHPID) that execs the launcher, which execs the
 * program. The inner bash also clears screen and scrollback, so that the screen shows
 * the program's output, not the shell's prompt and this command. `trap :` keeps the
 * outer bash alive through a Ctrl-C that ends the program, so the status is still
 * reported; exec resets the trap for the program. Both scripts travel as single-quoted
 * words without `'`, `!` or a backslash escape other than octal: the same text under
 * zsh, bash and fish.
 */
const OUTER = 'trap : INT QUIT; /bin/bash -c "$1" "$2" "$3"; s=$?; printf "\\033]1337;SetUserVar=tabcrew_exit=%s\\007" "$(printf %s "$s" | base64)"';
const INNER = 'printf "\\033]1337;SetUserVar=tabcrew_pid=%s\\007\\033[H\\033[2J\\033[3J" "$(printf %s $$ | base64)"; exec /bin/bash "$0" "$1"';
const SAFE_PATH = /^\/[A-Za-z0-9 _./+,:@%=~-]*$/;

/** The line typed into a new tab's login shell. */
export function typedCommand(launcher: string, specDir: string): string {
  for (const path of [launcher, specDir]) {
    if (!SAFE_PATH.test(path)) {
      throw new Error(
        `the iTerm2 backend types ${JSON.stringify(path)} into a shell, so it may hold only letters, digits, spaces and / _ . + , : @ % = ~ -; ` +
          'install tabcrew and choose its runtime directory under such a path',
      );
    }
  }
  // The leading space keeps the line out of the shell's history where it ignores such lines.
  const command = ` /bin/bash -c '${OUTER}' tabcrew '${INNER}' '${launcher}' '${specDir}'`;
  if (command.length > MAX_COMMAND_CHARS) {
    throw new Error(`the tab's start command would be ${command.length} characters (at most ${MAX_COMMAND_CHARS}); use shorter install and runtime paths`);
  }
  return command;
}
