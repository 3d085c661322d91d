import { readFileSync } from 'node:fs';
import { connect } from 'node:net';

/*
 * The hook's side of counted usage (supervisor/usage-ledger.ts): at PreToolUse and Stop it
 * asks the supervisor, over the agent socket, to count the agent's transcript now, and waits
 * for the answer. At PreToolUse the call's line is already in the transcript and no tool has
 * run yet, so a tool that empties the transcript finds its usage counted. It imports nothing
 * heavy and never throws: a supervisor that is down or slow costs at most `timeoutMs`.
 */

export interface NudgeOptions {
  socket: string;
  agent: string;
  /** The agent's secret file (0600, in its runtime folder); read at each call, a relaunch rotates it. */
  secretFile: string;
  timeoutMs: number;
  /** PreToolUse: the call about to run (the supervisor waits for its line in the transcript). */
  toolUseId?: string;
}

/** Events after which the transcript holds usage no tool may erase before it is counted. */
export const COUNT_AT: ReadonlySet<string> = new Set(['PreToolUse', 'Stop']);

/** True when the supervisor answered that it counted. */
export function askToCount(opts: NudgeOptions): Promise<boolean> {
  let secret: string;
  try {
    secret = readFileSync(opts.secretFile, 'utf8').trim();
  } catch {
    return Promise.resolve(false);
  }
  if (!secret) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    const conn = connect(opts.socket);
    let buf = '';
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      conn.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), opts.timeoutMs);
    conn.setEncoding('utf8');
    conn.on('connect', () =>
      conn.write(JSON.stringify({ id: 1, agent: opts.agent, secret, method: 'count_usage', params: toolUseParams(opts.toolUseId) }) + '\n'),
    );
    conn.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      try {
        done((JSON.parse(buf.slice(0, nl)) as { ok?: unknown }).ok === true);
      } catch {
        done(false);
      }
    });
    conn.on('error', () => done(false));
    conn.on('close', () => done(false));
  });
}

/** The id as the socket's schema takes it; anything else is left out (the count goes on without the wait). */
export function validToolUseId(id: string | undefined): string | undefined {
  return id && /^[A-Za-z0-9_-]{1,128}$/.test(id) ? id : undefined;
}

function toolUseParams(id: string | undefined): { tool_use_id?: string } {
  const valid = validToolUseId(id);
  return valid ? { tool_use_id: valid } : {};
}
