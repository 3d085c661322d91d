import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { ServerNotification, ServerRequest, CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { AGENT_STATUSES } from '../store/types.js';
import type { Logger } from '../audit/logger.js';
import { toolCallEvent, type AuditLog, type AuditOutcome } from '../audit/audit-log.js';
import type { Progress } from '../supervisor/context.js';
import { UserError } from '../supervisor/errors.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import { throttle } from '../supervisor/timing.js';

export interface ToolDeps {
  /** Resolves once the state is open; the handshake is answered before that. */
  ready?: Promise<void>;
  supervisor: Supervisor;
  log: Logger;
  /** Every tool call is on record here before its result is returned. */
  audit?: Pick<AuditLog, 'append'>;
  /** The MCP client's name, for the audit record. */
  clientName?: () => string | undefined;
  /**
   * A front with nodes (src/crew/) wraps tool registration here to route calls by each
   * tool's declared route (routing.ts); the tools' handlers never know. `deps` are the
   * server's own, so a routed call is recorded as that server's calls are (recordCall).
   */
  routeTools?: (server: McpServer, deps: ToolDeps) => void;
  /** The same front reads a node's resource (tabcrew://nodes/…) for subscriptions; undefined for a local URI. */
  routeResource?: (uri: string) => Promise<string> | undefined;
  /** Every recorded tool call is told here (recordCall), for `/metrics` (server/http/metrics.ts). */
  calls?: CallEvents;
}

/** A tool call as recordCall saw it: no arguments, only what may be counted. */
export interface RecordedCall {
  tool: string;
  outcome: AuditOutcome;
  caller: string;
  /** The tool's structuredContent when it succeeded. */
  result?: Record<string, unknown>;
}

/** The tool calls of every server over one supervisor (stdio, HTTP, in-process), for whoever counts them. */
export class CallEvents {
  private readonly listeners = new Set<(call: RecordedCall) => void>();

  on(listener: (call: RecordedCall) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(call: RecordedCall): void {
    for (const l of this.listeners) l(call);
  }
}

export type RegisterTool = (server: McpServer, deps: ToolDeps) => void;
export type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

export const sessionRef = z.string().min(1).max(200).describe('Session id (s-…) or session name, as given by create_session or list_sessions.');
export const agentRef = z.string().min(1).max(64).describe('Agent name, e.g. "Agent_1".');
export const confirm = z
  .string()
  .max(200)
  .optional()
  .describe("Only at security level HIGH, for clients that cannot ask the person: the target's name, repeated.");
export const note = z.string().optional().describe('Anything the caller should know about the outcome.');
export const agentStatus = z.enum(AGENT_STATUSES);

/**
 * A tool result: the structured object, and the same as JSON text for clients without structured
 * output. The text is compact: most clients hand it to their model, where indentation is tokens
 * paid for on every call (a status of 64 agents: 170 KB indented, 122 KB compact).
 */
export function ok<T extends Record<string, unknown>>(structured: T): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(structured) }], structuredContent: structured };
}

/** MCP progress notifications for a request that asked for them (it sent a progressToken). */
export function progressOf(extra: Extra): Progress | undefined {
  const token = extra._meta?.progressToken;
  if (token === undefined) return undefined;
  return throttle((p) => {
    void extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, ...p } }).catch(() => undefined);
  }, 1000);
}

/**
 * Runs a tool's work. A UserError becomes an `isError` result whose text says what to fix;
 * anything else is logged with its stack and reported as an internal failure. The call is
 * written to the audit log (and fsynced) before its result is returned; a call that could
 * not be recorded is reported as an error rather than returned unrecorded.
 */
export async function run(
  tool: string,
  deps: ToolDeps,
  work: () => Promise<Record<string, unknown>>,
  args: Record<string, unknown> = {},
): Promise<CallToolResult> {
  await deps.ready;
  const started = Date.now();
  let result: CallToolResult;
  let outcome: AuditOutcome = 'ok';
  let reason: string | undefined;
  try {
    result = ok(await work());
    deps.log.info('tool call', { tool, outcome, ms: Date.now() - started });
  } catch (e) {
    const err = e as Error;
    reason = err.message;
    if (e instanceof UserError) {
      outcome = 'refused';
      deps.log.info('tool call', { tool, outcome, reason, ms: Date.now() - started });
      result = { content: [{ type: 'text', text: err.message }], isError: true };
    } else {
      outcome = 'failed';
      deps.log.error('tool call failed', { tool, error: err.message, stack: err.stack, ms: Date.now() - started });
      result = { content: [{ type: 'text', text: `${tool} failed: ${err.message}` }], isError: true };
    }
  }
  return recordCall(deps, { tool, args, outcome, ms: Date.now() - started, reason }, result);
}

/** What recordCall needs of a server's deps. */
export type CallRecorder = Pick<ToolDeps, 'audit' | 'clientName' | 'log' | 'calls'>;

/**
 * The one audit path of a tool call, local or routed to a node: the call is on record
 * (fsynced) before its result is returned; a call that could not be recorded is reported as
 * an error rather than returned unrecorded.
 */
export async function recordCall(
  deps: CallRecorder,
  call: { tool: string; args: Record<string, unknown>; outcome: AuditOutcome; ms: number; reason?: string },
  result: CallToolResult,
): Promise<CallToolResult> {
  const caller = deps.clientName?.() ?? 'unknown';
  deps.calls?.emit({ tool: call.tool, outcome: call.outcome, caller, result: result.isError ? undefined : result.structuredContent });
  try {
    await deps.audit?.append(toolCallEvent({ ...call, caller }));
  } catch (e) {
    deps.log.error('audit append failed', { tool: call.tool, error: (e as Error).message });
    return {
      content: [
        { type: 'text', text: `${call.tool} ran (${call.outcome}) but could not be recorded in the audit log: ${(e as Error).message}. Check the log dir.` },
      ],
      isError: true,
    };
  }
  return result;
}
