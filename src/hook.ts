#!/usr/bin/env node
/**
 * Claude Code runs this, bundled as dist/hook.cjs, for PermissionRequest, and for every event
 * where perl is missing (see claude/hook-commands.ts). The perl PreToolUse hook has the running
 * supervisor decide, with the same code (claude/pre-tool-use.ts), and runs this instead when
 * there is no answer, having spooled nothing. It appends one record to the agent's spool file, named by
 * TABCREW_EVENTS, so a supervisor started later still sees what happened while it was down.
 *
 * For PreToolUse it also guards the session boundaries (claude/boundary.ts): when
 * TABCREW_BOUNDARIES is set (security level MEDIUM/HIGH), a call naming a path in another
 * session's root is denied with a JSON decision on stdout, which Claude Code hands to the
 * model as the tool's error.
 *
 * For PermissionRequest it holds the request until the supervisor decides it over MCP
 * (claude/permission-hold.ts), when TABCREW_PERMISSIONS is set; without a decision it
 * prints nothing and the dialog stays with the person at the tab.
 *
 * For PreToolUse and Stop it asks the supervisor to count the agent's usage before going on
 * (claude/usage-nudge.ts), so a tool cannot erase usage from the transcript before it is counted.
 *
 * It must never disturb the agent otherwise: it prints nothing else (a UserPromptSubmit
 * hook's stdout is added to the conversation), always exits 0, and imports nothing heavy.
 */
import { appendFileSync, readSync } from 'node:fs';
import { homedir } from 'node:os';
import { holdPermission } from './claude/permission-hold.js';
import { hookStdout, parseHookInput, preToolUseReason, spoolLine, toolUseIdOf } from './claude/pre-tool-use.js';
import { askToCount, COUNT_AT } from './claude/usage-nudge.js';

// A Write of a big file arrives whole in tool_input: the guard must see all of it.
const MAX_INPUT = 64 * 1024 * 1024;
// Claude Code allows a hook 10 s; a supervisor that does not answer in 3 s is not waited for.
const COUNT_TIMEOUT_MS = 3000;

/**
 * stdin read with readSync, not as a stream: a stream costs every hook ~10 ms of CPU to set up,
 * and Claude Code hands the JSON over a pipe and closes it. A non-blocking stdin (EAGAIN) is
 * waited for briefly rather than taken as the end.
 */
function readInput(): { input: Record<string, unknown>; unreadable?: string } {
  const chunks: Buffer[] = [];
  let size = 0;
  const buf = Buffer.allocUnsafe(1024 * 1024);
  for (;;) {
    let n: number;
    try {
      n = readSync(0, buf, 0, buf.length, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
        continue;
      }
      if (code === 'EOF') break;
      throw e;
    }
    if (n === 0) break;
    size += n;
    if (size > MAX_INPUT) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return parseHookInput(Buffer.concat(chunks).toString('utf8'), size > MAX_INPUT);
}

async function main(): Promise<void> {
  const { input, unreadable } = readInput();
  const reason = preToolUseReason(input, unreadable, {
    boundariesFile: process.env.TABCREW_BOUNDARIES,
    session: process.env.TABCREW_SESSION ?? '',
    home: process.env.HOME || homedir(),
    hook: process.env.TABCREW_HOOK,
  });
  const spool = process.env.TABCREW_EVENTS;
  if (spool) {
    try {
      // One write(2) with O_APPEND: records from concurrent hooks never interleave.
      appendFileSync(spool, spoolLine(input, reason, Date.now(), process.env.TABCREW_LAUNCH), { mode: 0o600 });
    } catch {
      // A lost record costs a status update, never the call.
    }
  }
  await countUsage(input);
  if (reason) process.stdout.write(hookStdout(reason));
  if (input.hook_event_name === 'PermissionRequest' && process.env.TABCREW_PERMISSIONS && !unreadable) await answerPermission(input, spool);
}

/** Before a tool runs and at a turn's end, the supervisor counts the transcript (claude/usage-nudge.ts). */
async function countUsage(input: Record<string, unknown>): Promise<void> {
  const { TABCREW_SOCKET: socket, TABCREW_SECRET_FILE: secretFile, TABCREW_AGENT: agent } = process.env;
  if (!socket || !secretFile || !agent || !COUNT_AT.has(String(input.hook_event_name))) return;
  await askToCount({ socket, agent, secretFile, timeoutMs: COUNT_TIMEOUT_MS, toolUseId: toolUseIdOf(input) });
}

async function answerPermission(input: Record<string, unknown>, spool: string | undefined): Promise<void> {
  const stop = new AbortController();
  // Claude Code ends a hook past its timeout: the request is closed on the way out.
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.once(sig, () => stop.abort());
  const timeout = Number(process.env.TABCREW_PERMISSION_TIMEOUT);
  try {
    const held = await holdPermission(input, {
      dir: process.env.TABCREW_PERMISSIONS!,
      spool,
      agent: process.env.TABCREW_AGENT,
      launch: process.env.TABCREW_LAUNCH,
      timeoutS: Number.isFinite(timeout) && timeout > 0 ? timeout : undefined,
      signal: stop.signal,
    });
    if (held.output) process.stdout.write(JSON.stringify(held.output));
  } catch {
    // No decision: the dialog stays with the person at the tab.
  }
}

main().then(
  () => process.exit(0),
  () => process.exit(0),
);
