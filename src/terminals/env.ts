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
  // Names first, values only of those kept: each value read from process.env is a call into
  // the runtime, and this runs for every terminal process.
  for (const k of Object.keys(env)) {
    if (!KEEP.test(k) && !extra?.test(k)) continue;
    const v = env[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}
