import { AGENT_MCP_ALLOW } from './agent-mcp-config.js';
import { hookExec, type HookRunner } from './hook-commands.js';

/** Hook events tabcrew listens to; together they drive the agent state machine. */
export const HOOK_EVENTS = [
  'SessionStart',
  'UserPromptSubmit',
  // Also answers: it denies calls that name another session's root (claude/boundary.ts).
  'PreToolUse',
  'PermissionRequest',
  'PostToolUse',
  'PostToolUseFailure',
  'Notification',
  'Stop',
  'StopFailure',
  'SessionEnd',
] as const;

/**
 * The shell form of the hook: node on the hook program, both named by environment variables of
 * the agent (set at launch), so no path is ever spliced into shell text. Settings written by
 * tabcrew use the exec form instead (claude/hook-commands.ts); this form is kept for callers
 * that name no runner.
 */
export const HOOK_COMMAND = '"$TABCREW_NODE" "$TABCREW_HOOK"';

/**
 * The PermissionRequest hook waits for a decision over MCP while Claude Code shows its own
 * dialog: Claude Code ends a hook at its timeout, so this one gets the permission timeout
 * plus a margin, or a day when there is none (the dialog stays answerable at the tab).
 */
export function permissionHookTimeoutS(permissionTimeoutS?: number): number {
  return permissionTimeoutS ? permissionTimeoutS + 30 : 86_400;
}

export function agentSettings(opts: {
  bypass: boolean;
  deny?: string[];
  /** Rules that let tools run without asking (a role's, claude/roles.ts). */
  allow?: string[];
  agentTools?: boolean;
  permissionTimeoutS?: number;
  /** Which program runs each event (claude/hook-commands.ts); absent: HOOK_COMMAND for all. */
  runner?: HookRunner;
}): Record<string, unknown> {
  const hooks: Record<string, unknown> = {};
  for (const event of HOOK_EVENTS) {
    const timeout = event === 'PermissionRequest' ? permissionHookTimeoutS(opts.permissionTimeoutS) : 10;
    const run = opts.runner ? hookExec(event, opts.runner) : { command: HOOK_COMMAND };
    hooks[event] = [{ matcher: '', hooks: [{ type: 'command', ...run, timeout }] }];
  }
  const settings: Record<string, unknown> = { hooks };
  // Bypass mode otherwise stops at a warning screen no one is there to answer.
  if (opts.bypass) settings.skipDangerousModePermissionPrompt = true;
  const permissions: Record<string, string[]> = {};
  if (opts.deny?.length) permissions.deny = opts.deny;
  // tabcrew's own agent tools speak for this agent only and are checked by the supervisor.
  const allow = [...(opts.agentTools ? [AGENT_MCP_ALLOW] : []), ...(opts.allow ?? [])];
  if (allow.length) permissions.allow = allow;
  if (Object.keys(permissions).length) settings.permissions = permissions;
  return settings;
}
