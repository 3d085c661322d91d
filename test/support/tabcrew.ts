import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ElicitRequestSchema, type CallToolResult, type ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const CLI = resolve(import.meta.dirname, '../../dist/cli.js');
export const TEST_STATE_KEY = Buffer.alloc(32, 7).toString('base64');

export interface Crew {
  client: Client;
  socket: string;
  dirs: { state: string; logs: string; runtime: string };
  /** The flags that point a tabcrew command at this crew's state, logs, runtime dir and tmux socket. */
  flags: string[];
  stderr: () => string;
  /** Calls a tool; resolves with the whole result (isError included). */
  call(name: string, args?: Record<string, unknown>, onProgress?: (message: string) => void): Promise<CallToolResult>;
  /** Calls a tool that must succeed; resolves with its structuredContent. */
  ok<T = Record<string, any>>(name: string, args?: Record<string, unknown>, onProgress?: (message: string) => void): Promise<T>;
  /** Runs tmux on this crew's private socket. */
  tmux(...args: string[]): string;
  /** Names of this crew's tmux windows; none when its tmux server has exited. */
  windows(): string[];
  /** The server process id. */
  pid: number | null;
  /** Disconnects the client (the server exits); agents keep running. */
  disconnect(): Promise<void>;
  /** Disconnects and kills this crew's tmux server and temp dirs. */
  stop(): Promise<void>;
}

export interface StartOptions {
  env: Record<string, string>;
  args?: string[];
  socket?: string;
  /** Reuse the dirs of an earlier crew (a later tabcrew on the same state). */
  dirs?: Crew['dirs'];
  /** Makes the client declare elicitation and answer each request with this. */
  onElicit?: (message: string) => ElicitResult;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * Claude Code keeps running ~2 s after its pane is killed (and writes into HOME meanwhile):
 * wait for every agent process to end, and kill what is left after the bound.
 */
export async function waitForExit(pids: number[], timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const pid of pids.filter(alive)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // ended meanwhile
    }
  }
}

/** Starts `tabcrew serve` (the built CLI) and connects the MCP SDK client to it over stdio. */
export async function startTabcrew(opts: StartOptions): Promise<Crew> {
  const base = opts.dirs ? undefined : mkdtempSync(join(tmpdir(), 'tabcrew-test-'));
  const dirs = opts.dirs ?? { state: join(base!, 'state'), logs: join(base!, 'logs'), runtime: join(base!, 'runtime') };
  const socket = opts.socket ?? `tabcrew-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const flags = ['--state-dir', dirs.state, '--log-dir', dirs.logs, '--runtime-dir', dirs.runtime, '--tmux-socket', socket];
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, 'serve', ...flags, ...(opts.args ?? [])],
    // An explicit key: no test may reach for a real key file or the macOS Keychain.
    env: { TABCREW_STATE_KEY: TEST_STATE_KEY, ...opts.env },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const client = new Client({ name: 'tabcrew-tests', version: '1.0.0' }, { capabilities: opts.onElicit ? { elicitation: {} } : {} });
  if (opts.onElicit) {
    const answer = opts.onElicit;
    client.setRequestHandler(ElicitRequestSchema, async (req) => answer(req.params.message));
  }
  await client.connect(transport);
  // Listing the tools makes the client check every answer against its tool's output schema
  // (the server does not parse its own results again: src/server/result-check.ts).
  await client.listTools();

  const tmux = (...args: string[]): string => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const call = async (name: string, args: Record<string, unknown> = {}, onProgress?: (m: string) => void) =>
    (await client.callTool({ name, arguments: args }, undefined, {
      timeout: 300_000,
      resetTimeoutOnProgress: true,
      onprogress: (p) => onProgress?.(p.message ?? ''),
    })) as CallToolResult;
  let disconnected = false;
  const disconnect = async () => {
    if (disconnected) return;
    disconnected = true;
    await client.close();
  };
  return {
    client,
    pid: transport.pid,
    socket,
    dirs,
    flags,
    stderr: () => stderr,
    call,
    async ok(name, args, onProgress) {
      const r = await call(name, args, onProgress);
      if (r.isError) throw new Error(`${name} failed: ${JSON.stringify(r.content)}`);
      return r.structuredContent as any;
    },
    tmux,
    windows() {
      try {
        return tmux('list-windows', '-a', '-F', '#{window_name}').trim().split('\n').filter(Boolean);
      } catch {
        return [];
      }
    },
    disconnect,
    async stop() {
      await disconnect();
      let pids: number[] = [];
      try {
        pids = tmux('list-panes', '-a', '-F', '#{pane_pid}').split('\n').filter(Boolean).map(Number);
        tmux('kill-server');
      } catch {
        // no server was started
      }
      await waitForExit(pids);
      // tmux leaves its socket file behind when the server exits.
      rmSync(join(process.env.TMUX_TMPDIR ?? '/tmp', `tmux-${process.getuid?.() ?? 0}`, socket), { force: true });
      // An agent's SessionEnd hook, inside its sandbox, may still be appending to its spool as the tmux server goes:
      // retried with a growing wait (100 ms, 200 ms, … up to 5.5 s in all).
      if (base) rmSync(base, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    },
  };
}
