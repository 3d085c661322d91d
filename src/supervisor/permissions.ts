import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { AuditLog } from '../audit/audit-log.js';
import type { Logger } from '../audit/logger.js';
import { redact } from '../audit/redact.js';
import { agentDirFor } from '../claude/launch.js';
import {
  PERMISSIONS_DIR,
  REQUEST_ID,
  approvalSummary,
  createOnce,
  decisionPath,
  readJson,
  removeQuietly,
  requestPath,
  type PermissionDecisionFile,
  type PermissionRequestFile,
  holderAlive,
} from '../claude/permission-files.js';
import { planOf, questionsOf, requestKindOf, type QuestionAnswer, type RequestKind, type RequestQuestion } from '../claude/request-kinds.js';
import type { StateStore } from '../store/state-store.js';
import type { State } from '../store/types.js';
import { isProcessAlive } from '../util/process-alive.js';
import { UserError } from './errors.js';
import type { RuntimeWatch } from './runtime-watch.js';
import { findSession } from './roster.js';

/** A permission dialog, a question (AskUserQuestion) or a plan to approve (ExitPlanMode): the same shape. */
export interface PendingRequest {
  request_id: string;
  kind: RequestKind;
  agent: string;
  session_id: string;
  tool: string;
  /** Redacted and short: enough to judge the call, never its raw input. */
  input_summary: string;
  /** A question's questions with their options (redacted). */
  questions?: RequestQuestion[];
  /** A plan's text (redacted), to read before approving it. */
  plan?: string;
  /** ISO-8601: when Claude Code asked. */
  since: string;
}
export type PendingPermission = PendingRequest;

export interface PermissionDecision {
  request_id: string;
  agent: string;
  tool: string;
  kind: RequestKind;
  decision: 'allow' | 'deny';
  /** Whether the agent's hook took the decision within a few seconds (it answers Claude Code's dialog then). */
  taken: boolean;
}

export interface PermissionBrokerDeps {
  store: Pick<StateStore, 'read'>;
  runtimeDir: string;
  log: Logger;
  audit?: Pick<AuditLog, 'append'>;
  /** The runtime folder's changes (fs.watch): a request is seen as its file appears, not at the next scan. */
  activity?: Pick<RuntimeWatch, 'on' | 'sync'>;
}

/** How often the server looks for new requests while a client listens, without `activity`. */
const SCAN_MS = 1000;
/** With `activity`: the safety scan, for what the OS did not report. */
const SAFETY_SCAN_MS = 10_000;
/** How long decide_permission waits to see the hook take its decision. */
const TAKE_WAIT_MS = 5000;
const REQUEST_FILE = /^(p-[0-9a-f]{16})\.request\.json$/;

/**
 * Permission requests that agents' PermissionRequest hooks hold (claude/permission-hold.ts),
 * read from their files in each agent's runtime folder: a restarted supervisor sees the
 * same pending requests, and the waiting hooks never notice it was gone. Decisions are
 * written once (claude/permission-files.ts createOnce): a second one is refused.
 */
export class PermissionBroker {
  /** Pending requests seen by this process, with the folder each lives in. */
  private readonly known = new Map<string, { pending: PendingRequest; dir: string }>();
  private readonly listeners = new Set<(p: PendingRequest) => void>();
  private timer?: NodeJS.Timeout;
  private soon?: NodeJS.Timeout;
  private unwatch?: () => void;
  private scanning?: Promise<PendingRequest[]>;

  constructor(private readonly deps: PermissionBrokerDeps) {}

  /**
   * Calls `listener` once per request newly seen by this process; scans while anyone listens:
   * when the runtime folder reports a permissions change (and a slow safety scan), or, without
   * `activity`, every SCAN_MS.
   */
  onRequest(listener: (p: PendingRequest) => void): () => void {
    this.listeners.add(listener);
    const scan = (): void => void this.scan().catch((e: Error) => this.deps.log.warn('permission scan failed', { error: e.message }));
    const { activity } = this.deps;
    this.timer ??= setInterval(() => (activity ? void activity.sync().finally(scan) : scan()), activity ? SAFETY_SCAN_MS : SCAN_MS).unref();
    this.unwatch ??= activity?.on((a) => {
      if (a.what !== 'spool') this.soon ??= setTimeout(() => ((this.soon = undefined), scan()), 20).unref();
    });
    return () => {
      this.listeners.delete(listener);
      if (!this.listeners.size) this.stop();
    };
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.soon) clearTimeout(this.soon);
    this.unwatch?.();
    this.timer = this.soon = this.unwatch = undefined;
  }

  async list(sessionRef?: string, kind?: RequestKind): Promise<PendingRequest[]> {
    const state = await this.deps.store.read();
    const only = sessionRef !== undefined ? findSession(state, sessionRef).id : undefined;
    const all = await this.scan(state);
    return all.filter((p) => (only === undefined || p.session_id === only) && (kind === undefined || p.kind === kind));
  }

  /** The pending request `id`, or a refusal saying why it cannot be decided. */
  async pending(id: string): Promise<PendingRequest> {
    return (await this.locate(id)).pending;
  }

  /** `answers`: a question's, one per question (request-answers.ts makes them); a question is allowed only with them. */
  async decide(input: {
    request_id: string;
    decision: 'allow' | 'deny';
    reason?: string;
    answers?: QuestionAnswer[];
    by: string;
  }): Promise<PermissionDecision> {
    const { pending, dir } = await this.locate(input.request_id);
    if (pending.kind === 'question' && input.decision === 'allow' && !input.answers?.length) {
      throw new UserError(`request ${pending.request_id} is a question (${pending.agent}): answer it with answer_request {request_id, choose or text}.`);
    }
    // A plan's feedback may run over lines; other reasons are one line.
    const reason = input.reason
      ?.replace(pending.kind === 'plan' ? /[^\P{Cc}\n]+/gu : /[\p{Cc}]+/gu, ' ')
      .trim()
      .slice(0, pending.kind === 'plan' ? 2000 : 500);
    const file: PermissionDecisionFile = {
      request_id: pending.request_id,
      decision: input.decision,
      ...(reason ? { reason } : {}),
      ...(input.decision === 'allow' && input.answers?.length ? { answers: input.answers } : {}),
      by: input.by.slice(0, 100),
      at: new Date().toISOString(),
    };
    if (!createOnce(decisionPath(dir, pending.request_id), file)) throw this.closedError(pending.request_id, dir);
    await this.deps.audit?.append({
      type: 'permission_decision',
      request_id: pending.request_id,
      agent: pending.agent,
      session: pending.session_id,
      tool: pending.tool,
      kind: pending.kind,
      decision: input.decision,
      by: file.by,
      ...(reason ? { reason: redact(reason).slice(0, 200) } : {}),
      ...(file.decision === 'allow' && file.answers ? { answers: auditAnswers(pending, file.answers) } : {}),
    });
    this.deps.log.info('permission decided', {
      request_id: pending.request_id,
      agent: pending.agent,
      tool: pending.tool,
      decision: input.decision,
      by: file.by,
    });
    this.known.delete(pending.request_id);
    const taken = await this.waitTaken(requestPath(dir, pending.request_id));
    return { request_id: pending.request_id, agent: pending.agent, tool: pending.tool, kind: pending.kind, decision: input.decision, taken };
  }

  // ---- internals --------------------------------------------------------------------

  /** Whether request `id` is this machine's (pending or decided); reads only, changes nothing. */
  async holds(id: string): Promise<boolean> {
    if (!REQUEST_ID.test(id)) return false;
    const state = await this.deps.store.read();
    for (const { dir } of this.dirs(state)) {
      if (readJson(requestPath(dir, id)) || readJson(decisionPath(dir, id))) return true;
    }
    return false;
  }

  private async locate(id: string): Promise<{ pending: PendingRequest; dir: string }> {
    if (!REQUEST_ID.test(id)) {
      throw new UserError(`request_id "${id.slice(0, 80)}" is not a request id (p- and 16 hex digits): take it from list_pending_requests.`);
    }
    const state = await this.deps.store.read();
    for (const { agent, dir } of this.dirs(state)) {
      const req = readJson<PermissionRequestFile>(requestPath(dir, id));
      const decided = readJson<PermissionDecisionFile>(decisionPath(dir, id));
      if (decided) throw this.closedError(id, dir);
      if (!req) continue;
      const pending = this.view(req, agent.name, agent.sessionId);
      if (!holderAlive(req, isProcessAlive)) {
        await this.closeGone(pending, dir);
        throw new UserError(
          `request ${id} (${agent.name}, ${pending.tool}) is no longer waiting: its hook ended. ${agent.name}'s own dialog, if still open, is answered at its tab.`,
        );
      }
      return { pending, dir };
    }
    throw new UserError(`no request ${id}: it is unknown (or its agent was deleted). list_pending_requests shows the pending ones.`);
  }

  private closedError(id: string, dir: string): UserError {
    const d = readJson<PermissionDecisionFile>(decisionPath(dir, id));
    if (d && d.decision !== 'closed') {
      return new UserError(`request ${id} was already answered (${d.decision}, by ${d.by} at ${d.at}); an answer is final and cannot be changed.`);
    }
    const why = d && d.decision === 'closed' ? CLOSED_WHY[d.why] : 'it is closed';
    return new UserError(`request ${id} can no longer be answered: ${why}.`);
  }

  private *dirs(state: State): Generator<{ agent: State['agents'][number]; dir: string }> {
    for (const agent of state.agents) {
      for (const id of [agent.claudeSessionId, ...agent.pastClaudeSessionIds]) {
        if (id) yield { agent, dir: join(agentDirFor(this.deps.runtimeDir, id), PERMISSIONS_DIR) };
      }
    }
  }

  private view(req: PermissionRequestFile, agent: string, sessionId: string): PendingRequest {
    // The hook made it so already; made again here, the same way, from what the file says.
    const summary = approvalSummary(String(req.input_summary ?? ''));
    const tool = String(req.tool ?? 'unknown').slice(0, 200);
    return {
      request_id: req.request_id,
      // Told by the tool, never by the file alone: a file cannot make a Bash call look like a question.
      kind: requestKindOf(tool),
      agent,
      session_id: sessionId,
      tool,
      input_summary: summary,
      ...(requestKindOf(tool) === 'question' ? { questions: questionsOf({ questions: req.questions }) } : {}),
      ...(requestKindOf(tool) === 'plan' ? { plan: planOf(req) } : {}),
      since: String(req.since ?? ''),
    };
  }

  /** One scan at a time: the timer and a tool call share it. */
  private scan(state?: State): Promise<PendingRequest[]> {
    this.scanning ??= this.scanNow(state).finally(() => (this.scanning = undefined));
    return this.scanning;
  }

  private async scanNow(given?: State): Promise<PendingRequest[]> {
    const state = given ?? (await this.deps.store.read());
    const found: { pending: PendingRequest; dir: string }[] = [];
    for (const { agent, dir } of this.dirs(state)) {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch {
        continue;
      }
      for (const name of names) {
        const id = REQUEST_FILE.exec(name)?.[1];
        if (!id || names.includes(`${id}.decision.json`)) continue;
        const req = readJson<PermissionRequestFile>(join(dir, name));
        if (!req || req.request_id !== id) continue;
        const pending = this.view(req, agent.name, agent.sessionId);
        if (!holderAlive(req, isProcessAlive)) {
          await this.closeGone(pending, dir);
          continue;
        }
        found.push({ pending, dir });
      }
    }
    for (const f of found) {
      if (this.known.has(f.pending.request_id)) continue;
      this.known.set(f.pending.request_id, f);
      await this.announce(f.pending, f.dir);
    }
    const live = new Set(found.map((f) => f.pending.request_id));
    for (const [id, k] of this.known) {
      if (live.has(id)) continue;
      this.known.delete(id);
      const d = readJson<PermissionDecisionFile>(decisionPath(k.dir, id));
      if (d?.decision === 'closed' && d.by === 'hook') {
        await this.deps.audit?.append({
          type: 'permission_closed',
          request_id: id,
          agent: k.pending.agent,
          session: k.pending.session_id,
          tool: k.pending.tool,
          why: d.why,
        });
      }
    }
    return found.map((f) => f.pending).sort((a, b) => a.since.localeCompare(b.since));
  }

  /** Audited once across processes (a marker file), announced once per process (a new client must hear of it). */
  private async announce(p: PendingRequest, dir: string): Promise<void> {
    if (createOnce(join(dir, `${p.request_id}.seen`), { at: new Date().toISOString() })) {
      await this.deps.audit?.append({
        type: 'permission_request',
        request_id: p.request_id,
        agent: p.agent,
        session: p.session_id,
        tool: p.tool,
        kind: p.kind,
        input_summary: p.input_summary,
      });
    }
    this.deps.log.info('permission requested', { request_id: p.request_id, agent: p.agent, tool: p.tool, kind: p.kind });
    for (const l of this.listeners) l(p);
  }

  /** A hook that died (killed, machine restarted) without closing its request. */
  private async closeGone(p: PendingRequest, dir: string): Promise<void> {
    const closed = createOnce(decisionPath(dir, p.request_id), {
      request_id: p.request_id,
      decision: 'closed',
      why: 'hook_gone',
      by: 'supervisor',
      at: new Date().toISOString(),
    } satisfies PermissionDecisionFile);
    removeQuietly(requestPath(dir, p.request_id));
    if (closed)
      await this.deps.audit?.append({
        type: 'permission_closed',
        request_id: p.request_id,
        agent: p.agent,
        session: p.session_id,
        tool: p.tool,
        why: 'hook_gone',
      });
  }

  private async waitTaken(file: string): Promise<boolean> {
    const deadline = Date.now() + TAKE_WAIT_MS;
    while (Date.now() < deadline) {
      if (!readJson(file)) return true;
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  }
}

const CLOSED_WHY: Record<string, string> = {
  timeout: "no decision came within --permission-timeout, so the agent's own dialog took over (answer it at its tab)",
  answered_at_tab: "it was answered at the agent's tab",
  claude_ended: "the agent's Claude Code ended",
  hook_stopped: "Claude Code stopped the waiting hook (its hook timeout); the agent's own dialog, if still open, is answered at its tab",
  hook_gone: "its hook ended without an answer; the agent's own dialog, if still open, is answered at its tab",
};

/** A question's answers for the audit log: the chosen labels and typed text, redacted and cut. */
function auditAnswers(p: PendingRequest, answers: readonly QuestionAnswer[]): string[] {
  return answers.map((a, i) => {
    const labels = (a.options ?? []).map((n) => p.questions?.[i]?.options[n]?.label ?? `#${n + 1}`);
    return redact([...labels, ...(a.text ? [a.text] : [])].join(', ')).slice(0, 200);
  });
}
