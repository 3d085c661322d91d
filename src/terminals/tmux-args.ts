import { TerminalError, type TabHandle } from './backend.js';

/**
 * Building tmux command lines as argv arrays, and the targets, formats and command strings
 * that go into them.
 *
 * tmux splits its argv into commands at every argument that ends with `;` (and drops
 * the `;`), unless a `\` precedes it, in which case `\;` becomes a literal `;`. So every
 * argument is escaped, and commands are joined by a lone `;` that only this module adds.
 */

export type TmuxCommand = readonly string[];

/** One argument exactly as tmux should see it, whatever it ends with. */
export function tmuxArg(arg: string): string {
  return arg.endsWith(';') ? `${arg.slice(0, -1)}\\;` : arg;
}

/** Several tmux commands as one argv, run in order by a single tmux process. */
export function tmuxCommandLine(commands: readonly TmuxCommand[]): string[] {
  const argv: string[] = [];
  commands.forEach((command, i) => {
    if (command.length === 0) throw new Error('empty tmux command');
    if (i > 0) argv.push(';');
    for (const arg of command) argv.push(tmuxArg(arg));
  });
  return argv;
}

/**
 * Arguments tmux expands as formats (window names, display-message) treat `#` as the
 * start of `#{…}` or `#(…)`, the latter running a shell command; `##` is a literal `#`.
 */
export function formatLiteral(text: string): string {
  return text.replace(/#/g, '##');
}

export function checkedId(value: string | undefined, pattern: RegExp, what: string): string {
  if (value === undefined || !pattern.test(value)) {
    throw new TerminalError(`${JSON.stringify(value)} is not a ${what}`, 'failed');
  }
  return value;
}

/** The pane to type into or read: the handle's pane, else the window's active pane. */
export function paneTarget(tab: TabHandle): string {
  return tab.pane !== undefined ? checkedId(tab.pane, /^%\d+$/, 'tmux pane id') : checkedId(tab.id, /^@\d+$/, 'tmux window id');
}

export function capture(target: string, lines: number): TmuxCommand {
  // -J joins lines the terminal wrapped, so a long line reads as one.
  return ['capture-pane', '-p', '-J', '-t', target, '-S', `-${lines}`];
}

/**
 * A tmux command string for if-shell, which takes commands only as strings. Built only
 * from ids and names this module generated or checked, never from user text.
 */
export function commandString(...words: string[]): string {
  for (const w of words) {
    if (!/^[A-Za-z0-9%@_-]+$/.test(w)) throw new Error(`unsafe word in a tmux command string: ${JSON.stringify(w)}`);
  }
  return words.join(' ');
}

/**
 * A format that is non-empty exactly when the pane or window exists. Only for if-shell
 * -F: display-message also runs its format through strftime, where `%1…` means a time.
 */
export function exists(target: string): string {
  return target.startsWith('%') ? `#{S:#{W:#{P:#{?#{==:#{pane_id},${target}},1,}}}}` : `#{S:#{W:#{?#{==:#{window_id},${target}},1,}}}`;
}
