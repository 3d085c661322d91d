import type { IPty } from 'node-pty';

/*
 * Ending a PTY tab's program as closing a terminal would: a hang-up to its process group,
 * then SIGKILL if it outstays it.
 */

// A program that exits on hang-up may still flush its state for a while (Claude Code
// went on writing for ~2 s after SIGHUP), so it gets this long before SIGKILL.
const KILL_AFTER_MS = 5_000;
const REAP_WAIT_MS = 2_000;
/** SIGHUP (what closing a terminal sends), then SIGKILL if the program outstays it. */
export async function endProgram(t: { readonly pty: IPty | undefined; readonly alive: boolean; readonly exited: Promise<void> }): Promise<void> {
  const pty = t.pty;
  if (!pty || !t.alive) return;
  signalGroup(pty.pid, 'SIGHUP');
  if (await within(t.exited, KILL_AFTER_MS)) return;
  signalGroup(pty.pid, 'SIGKILL');
  if (await within(t.exited, REAP_WAIT_MS)) return;
  // Not even SIGKILL ended it (stuck in the kernel): at least release the pty.
  try {
    (pty as IPty & { destroy?: () => void }).destroy?.();
  } catch {
    // already released
  }
}

/**
 * The program leads its own session and process group (forkpty), so the signal reaches
 * the children it did not move elsewhere, as a terminal's hang-up would.
 */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

export async function within(p: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)));
  try {
    return await Promise.race([p.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
