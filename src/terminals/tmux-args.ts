/**
 * Building tmux command lines as argv arrays.
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
