/**
 * The environment of the terminal processes tabcrew starts (the tmux client and server,
 * osascript). A tmux server copies its first client's environment into its *global*
 * environment, which every window a person opens later inherits and `/proc/<pid>/environ`
 * shows; so these processes get only what a terminal needs to run, never the server's own
 * variables (the state key, API keys, TABCREW_*). An agent's environment travels per tab,
 * in its launch spec.
 */
const KEEP = /^(PATH|HOME|USER|LOGNAME|SHELL|LANG|LC_[A-Z]+|TZ|TMPDIR|TMUX_TMPDIR|__CF_USER_TEXT_ENCODING)$/;

export function terminalEnv(env: NodeJS.ProcessEnv = process.env, extra?: RegExp): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v !== undefined && (KEEP.test(k) || extra?.test(k))) out[k] = v;
  }
  return out;
}
