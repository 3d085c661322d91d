import { appendFileSync, closeSync, mkdirSync, openSync, readFileSync, readSync, statSync, watch, type FSWatcher } from 'node:fs';
import {
  createOnce,
  decisionPath,
  hookDecisionOutput,
  inputFingerprint,
  newRequestId,
  readJson,
  removeQuietly,
  requestPath,
  summarizeToolInput,
  writePrivateFile,
  type CloseReason,
  type PermissionDecisionFile,
  type PermissionRequestFile,
  pidNamespace,
  approvalSummary,
} from './permission-files.js';
import { spoolRecord } from './events.js';
import { answeredInput, planOf, questionsOf, requestKindOf, type RequestKind } from './request-kinds.js';

/**
 * The PermissionRequest side of the hook program: Claude Code 2.1.332 shows its permission
 * dialog and runs this hook at the same time, and takes whichever answers first — the
 * person at the tab or the hook's decision JSON. So the hook puts the request where the
 * supervisor sees it and waits for a decision file; when the person answers at the tab,
 * Claude Code does not stop the hook (observed), so it also watches the agent's hook spool
 * and gives up when the call ran or the turn moved on. Giving up prints nothing: the
 * dialog stays with the person at the tab.
 */

export interface HoldOptions {
  /** The agent's permissions folder (TABCREW_PERMISSIONS). */
  dir: string;
  /** The agent's hook spool (TABCREW_EVENTS), read to notice a dialog answered at the tab. */
  spool?: string;
  agent?: string;
  launch?: string;
  /** --permission-timeout, seconds; absent: wait until Claude Code ends the hook. */
  timeoutS?: number;
  /** A fallback to fs.watch, which may miss events (network file systems, macOS under load). */
  pollMs?: number;
  /** Aborted when the hook is told to stop (SIGTERM from Claude Code's hook timeout). */
  signal?: AbortSignal;
  /** Whether Claude Code is still there; default: the hook's ancestors are alive. */
  claudeAlive?: () => boolean;
}

export interface HoldResult {
  request_id: string;
  outcome: 'allow' | 'deny' | CloseReason;
  /** The JSON to print on stdout; absent when the dialog is left to the tab. */
  output?: Record<string, unknown>;
}

/** Spool events after which the call this hook holds can no longer be waiting for an answer. */
const TURN_MOVED_ON = new Set(['Stop', 'StopFailure', 'UserPromptSubmit', 'SessionEnd', 'SessionStart']);

export async function holdPermission(input: Record<string, unknown>, opts: HoldOptions): Promise<HoldResult> {
  const id = newRequestId();
  const tool = typeof input.tool_name === 'string' ? input.tool_name.slice(0, 200) : 'unknown';
  const claudeSession = typeof input.session_id === 'string' ? input.session_id.slice(0, 64) : undefined;
  const fp = inputFingerprint(input.tool_input);
  const kind = requestKindOf(tool);
  const questions = kind === 'question' ? questionsOf(input.tool_input) : undefined;
  const plan = kind === 'plan' ? planOf(input.tool_input) : undefined;
  mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
  const request: PermissionRequestFile = {
    v: 1,
    request_id: id,
    ...(opts.agent ? { agent: opts.agent.slice(0, 64) } : {}),
    ...(claudeSession ? { claude_session_id: claudeSession } : {}),
    ...(opts.launch ? { launch: opts.launch.slice(0, 64) } : {}),
    tool,
    kind,
    input_summary: questions
      ? approvalSummary(questions.map((q) => q.question).join(' · '))
      : plan !== undefined
        ? approvalSummary(plan)
        : summarizeToolInput(input.tool_input),
    ...(questions ? { questions } : {}),
    ...(plan !== undefined ? { plan } : {}),
    input_fp: fp,
    since: new Date().toISOString(),
    pid: process.pid,
    ...(pidNamespace() ? { pid_ns: pidNamespace() } : {}),
    ...(opts.timeoutS ? { timeout_s: opts.timeoutS } : {}),
  };
  const reqFile = requestPath(opts.dir, id);
  const decFile = decisionPath(opts.dir, id);
  const spool = opts.spool ? new SpoolTail(opts.spool, kind === 'permission' ? undefined : tool) : undefined;
  const claudeAlive = opts.claudeAlive ?? ancestorsWatch();
  writePrivateFile(reqFile, request);

  const deadline = opts.timeoutS ? Date.now() + opts.timeoutS * 1000 : Infinity;
  let watcher: FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  const result = await new Promise<HoldResult>((resolve) => {
    let done = false;
    const finish = (r: HoldResult): void => {
      if (done) return;
      done = true;
      resolve(r);
    };
    const decided = (d: PermissionDecisionFile): HoldResult => {
      if (d.decision === 'closed') return { request_id: id, outcome: d.why };
      if (d.decision === 'deny') return { request_id: id, outcome: 'deny', output: hookDecisionOutput('deny', denyMessage(kind, tool, d)) };
      return { request_id: id, outcome: 'allow', output: hookDecisionOutput('allow', undefined, answeredInput(kind, input.tool_input, d.answers)) };
    };
    // Gives up without a decision, unless one was written at the same moment: it then counts.
    const close = (why: CloseReason): void => {
      if (createOnce(decFile, { request_id: id, decision: 'closed', why, by: 'hook', at: new Date().toISOString() } satisfies PermissionDecisionFile)) {
        finish({ request_id: id, outcome: why });
      } else {
        const d = readJson<PermissionDecisionFile>(decFile);
        finish(d ? decided(d) : { request_id: id, outcome: why });
      }
    };
    const check = (): void => {
      if (done) return;
      const d = readJson<PermissionDecisionFile>(decFile);
      if (d && d.request_id === id) return finish(decided(d));
      if (spool?.answeredElsewhere(claudeSession, fp)) return close('answered_at_tab');
      if (!claudeAlive()) return close('claude_ended');
      if (Date.now() >= deadline) return close('timeout');
    };
    opts.signal?.addEventListener('abort', () => close('hook_stopped'), { once: true });
    try {
      watcher = watch(opts.dir, () => check());
      watcher.on('error', () => undefined);
    } catch {
      // The poll below still sees the decision.
    }
    timer = setInterval(check, opts.pollMs ?? 500);
    check();
  });
  watcher?.close();
  clearInterval(timer);
  removeQuietly(reqFile);
  if (opts.spool && (result.outcome === 'allow' || result.outcome === 'deny')) {
    try {
      // Feeds the agent's status (claude/hook-status.ts): a denied call fires no other hook.
      const record = {
        ts: Date.now(),
        event: 'PermissionDecided',
        ...(opts.launch ? { launch: opts.launch } : {}),
        session_id: claudeSession,
        tool_name: tool,
        decision: result.outcome,
      };
      appendFileSync(opts.spool, JSON.stringify(record) + '\n', { mode: 0o600 });
    } catch {
      // A lost record costs a status update, never the answer.
    }
  }
  return result;
}

/** What the model reads as the call's error: a denied call, a rejected plan (with its feedback), a declined question. */
export function denyMessage(kind: RequestKind, tool: string, d: { reason?: string; by: string }): string {
  const by = d.by.replace(/[\p{Cc}]/gu, ' ').slice(0, 100);
  // A plan's feedback may run over lines; a reason is one line.
  const reason = d.reason?.replace(kind === 'plan' ? /[^\P{Cc}\n]/gu : /[\p{Cc}]/gu, ' ').slice(0, kind === 'plan' ? 2000 : 500);
  const who = `The person supervising this agent (through tabcrew, ${by})`;
  if (kind === 'plan') return `${who} rejected the plan${reason ? `. Their feedback: ${reason}` : '.'} Stay in plan mode and revise it.`;
  if (kind === 'question') return `${who} declined to answer${reason ? `: ${reason}` : '.'}`;
  return `${who} denied this ${tool} call${reason ? `: ${reason}` : '.'}`;
}

/** Reads what other hooks append to the spool after this hook started. */
class SpoolTail {
  private offset: number;
  private partial = '';

  /**
   * `tool`: a question or plan, whose PostToolUse input carries the answer (so its
   * fingerprint differs): any PostToolUse of that tool then means it was answered.
   */
  constructor(
    private readonly file: string,
    private readonly tool?: string,
  ) {
    try {
      this.offset = statSync(file).size;
    } catch {
      this.offset = 0;
    }
  }

  answeredElsewhere(claudeSession: string | undefined, fp: string): boolean {
    for (const line of this.fresh()) {
      let r: { event?: string; session_id?: string; input_fp?: string; tool_name?: string } | undefined;
      try {
        r = spoolRecord(JSON.parse(line));
      } catch {
        continue;
      }
      if (!r) continue;
      if (claudeSession && r.session_id !== claudeSession) continue;
      if ((r.event === 'PostToolUse' || r.event === 'PostToolUseFailure') && (r.input_fp === fp || (this.tool && r.tool_name === this.tool))) return true;
      if (r.event && TURN_MOVED_ON.has(r.event)) return true;
    }
    return false;
  }

  private fresh(): string[] {
    let fd: number | undefined;
    try {
      const size = statSync(this.file).size;
      if (size <= this.offset) return [];
      fd = openSync(this.file, 'r');
      const buf = Buffer.alloc(Math.min(size - this.offset, 4 * 1024 * 1024));
      const n = readSync(fd, buf, 0, buf.length, this.offset);
      this.offset += n;
      const lines = (this.partial + buf.subarray(0, n).toString('utf8')).split('\n');
      this.partial = lines.pop() ?? '';
      return lines;
    } catch {
      return [];
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }
}

/**
 * Claude Code runs the hook through a shell, which may stay as the hook's parent after
 * Claude Code itself is gone: on Linux the grandparent is watched too (/proc); elsewhere
 * a changed parent is the sign.
 */
function ancestorsWatch(): () => boolean {
  const parent = process.ppid;
  let grandparent: number | undefined;
  try {
    // Only when the parent is that shell: otherwise the parent is Claude Code itself.
    if (!/^(?:ba|da|z|k|a)?sh$/.test(readFileSync(`/proc/${parent}/comm`, 'utf8').trim())) throw new Error('parent is no shell');
    const stat = readFileSync(`/proc/${parent}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid > 1) grandparent = ppid;
  } catch {
    // not Linux, or no shell between Claude Code and the hook
  }
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'EPERM';
    }
  };
  return () => process.ppid === parent && (grandparent === undefined || alive(grandparent));
}
