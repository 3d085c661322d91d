import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { terminalEnv } from './env.js';
import { MarkedBlocks, OneBlock, type Reader } from './tmux-marked.js';

/**
 * One tmux control-mode client (`tmux -C attach-session`), kept open for the reads tabcrew
 * makes most: every status lists the tabs, and a new `tmux` process per listing costs the
 * server a fork of itself (several ms at 150 MB of RSS, more on a busy machine) while the
 * listing itself takes tmux well under one. Commands go in as lines; each one's output comes
 * back between `%begin T N 1` and `%end T N 1` (or `%error`), in the order they were sent.
 *
 * The client is attached with `no-output` (panes' output is not streamed to it) and
 * `ignore-size` (it never sizes a window), to whichever session tmux picks; when that
 * session ends, tmux detaches it, and the next read attaches again. When there is no
 * client to be had — no server, no session, a tmux before 3.2 without those flags — `run`
 * answers undefined and the caller starts a tmux process as before.
 *
 * It also reads screens (capture-pane), which a recovery's starting agents each want once:
 * a tmux process each was the largest item of the server's CPU while they boot. A pane's
 * text comes back through it as tmux writes it, framed by markers it cannot imitate
 * (tmux-marked.ts).
 *
 * Only command lines of constant words, ids tabcrew checked and hex nonces are sent (see
 * TmuxBackend.listTabs, readScreen): nothing a user or an agent wrote is ever parsed as a
 * tmux command here.
 */
/**
 * The control clients alive in this process, killed as it exits. A tmux server that is told to
 * exit (kill-server, its last session closed) first writes `%exit` to each control client's
 * stdout — which tmux holds directly, as the fds the client handed it — and waits until that
 * is written: were this process gone, the server would wait forever, refusing every client.
 * A killed client is simply dropped by the server.
 */
const live = new Set<ChildProcessWithoutNullStreams>();

/** util-linux's setpriv (Linux): `--pdeathsig KILL` ends the client when this process ends. */
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
});
let exitHook = false;
function killOnExit(child: ChildProcessWithoutNullStreams): void {
  live.add(child);
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const c of live) c.kill('SIGKILL');
  });
}

export class TmuxControl {
  #child?: ChildProcessWithoutNullStreams;
  /** The commands sent and not answered yet, oldest first: tmux answers them in order. */
  #pending: Reader[] = [];
  #partial = '';
  #retryAt = 0;
  #off = false;

  constructor(
    private readonly tmux: string,
    private readonly socket: string,
    private readonly timeoutMs: number,
  ) {}

  /** The output of one command line, or undefined when no control client can run it. */
  run(line: string): Promise<string | undefined> {
    return this.#send(line, (done) => new OneBlock(done));
  }

  /**
   * The outputs of commands whose output tabcrew does not write (a pane's text), each command
   * given as one line of constant words (tmux-args.ts commandString). Each is followed by a
   * marker line no pane can know, so text that imitates tmux's framing (`%end T N 1`) stays
   * text (tmux-marked.ts). undefined when no control client can run them, or one of them failed:
   * the caller starts a tmux process, whose stderr says what it is.
   */
  runEach(commands: readonly string[]): Promise<string[] | undefined> {
    const nonce = randomBytes(12).toString('hex');
    const line = commands.flatMap((c, i) => [c, `display-message -p ${nonce}-${i}`]).join(' ; ');
    return this.#send(line, (done) => new MarkedBlocks(nonce, commands.length, done));
  }

  #send<T>(line: string, reader: (done: (out: T | undefined) => void) => Reader): Promise<T | undefined> {
    if (line.includes('\n')) throw new Error('a tmux control command is one line');
    const child = this.#client();
    if (!child) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      // Not unref'd: while a command is out, its timer keeps the process alive for the answer.
      const timer = setTimeout(() => this.#stop(), this.timeoutMs);
      this.#pending.push(
        reader((out) => {
          clearTimeout(timer);
          resolve(out);
        }),
      );
      child.stdin.write(`${line}\n`);
    });
  }

  /** Detaches the client (tabs and the tmux server stay). */
  close(): void {
    this.#off = true;
    this.#stop();
  }

  #client(): ChildProcessWithoutNullStreams | undefined {
    if (this.#child) return this.#child;
    if (this.#off || Date.now() < this.#retryAt) return undefined;
    let child: ChildProcessWithoutNullStreams;
    const argv = ['-u', '-L', this.socket, '-C', 'attach-session', '-f', 'no-output,ignore-size'];
    try {
      // Where util-linux's setpriv is, the kernel kills the client with this process, however it
      // ends (a signal fires no 'exit' event; see killOnExit).
      const [command, args] = SETPRIV ? [SETPRIV, ['--pdeathsig', 'KILL', '--', this.tmux, ...argv]] : [this.tmux, argv];
      child = spawn(command, args, { env: terminalEnv(), stdio: 'pipe' });
    } catch {
      this.#off = true;
      return undefined;
    }
    this.#child = child;
    killOnExit(child);
    this.#partial = '';
    child.stdout.setEncoding('utf8');
    // A client let go may still have lines in the pipe: they answer nothing sent to the next.
    child.stdout.on('data', (text: string) => this.#child === child && this.#read(text));
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => (stderr += text));
    child.stdin.on('error', () => undefined);
    child.on('error', () => this.#gone(child, 'spawn failed'));
    child.on('close', () => this.#gone(child, stderr));
    // It must never keep tabcrew running, nor wait on it.
    child.unref();
    for (const s of [child.stdin, child.stdout, child.stderr] as unknown as { unref?: () => void }[]) s.unref?.();
    return child;
  }

  #read(text: string): void {
    const lines = (this.#partial + text).split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) {
      const reader = this.#pending[0];
      // Anything while no command is out is a notification (%session-changed, %exit, …).
      if (!reader) continue;
      const read = reader.line(line);
      if (read === 'more') continue;
      this.#pending.shift();
      // What follows can no longer be matched to the commands sent: this client is let go.
      if (read === 'lost') this.#stop();
    }
  }

  #gone(child: ChildProcessWithoutNullStreams, stderr: string): void {
    live.delete(child);
    if (this.#child !== child) return;
    this.#child = undefined;
    // A tmux that does not know these flags never will: stop trying. No server or session yet: try again soon.
    if (/unknown flag|invalid option|usage:/i.test(stderr)) this.#off = true;
    this.#retryAt = Date.now() + 1000;
    for (const p of this.#pending.splice(0)) p.abandon();
  }

  #stop(): void {
    const child = this.#child;
    if (!child) return;
    child.stdin.end();
    child.kill();
    this.#gone(child, '');
  }
}
