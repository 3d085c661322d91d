import { homedir } from 'node:os';
import { isAbsolute, relative, sep } from 'node:path';
import type { SecurityLevel } from '../config.js';
import { UserError } from './errors.js';

/** How much harm a tool can do; HIGH-risk tools need confirmation at security level HIGH. */
export type Risk = 'LOW' | 'MEDIUM' | 'HIGH';

export const TOOL_RISK: Record<string, Risk> = {
  list_sessions: 'LOW',
  get_session_status: 'LOW',
  get_agent_output: 'LOW',
  create_session: 'MEDIUM',
  send_message_to_agent: 'MEDIUM',
  clear_agent_conversation: 'MEDIUM',
  start_new_agent_conversation: 'MEDIUM',
  recover_session: 'MEDIUM',
  create_agent: 'HIGH',
  delete_agent: 'HIGH',
  delete_session: 'HIGH',
  list_pending_permissions: 'LOW',
  list_messages: 'LOW',
  list_roles: 'LOW',
  get_coordination: 'LOW',
  // Its `spawn` is confirmed as create_agent at HIGH (server/tools/coordinate-agents.ts).
  coordinate_agents: 'MEDIUM',
  cancel_coordination: 'MEDIUM',
  // Only `allow` is confirmed (server/tools/decide-permission.ts): a deny takes nothing from the person.
  decide_permission: 'HIGH',
  list_pending_requests: 'LOW',
  // Only what lets the agent go on is confirmed (allow, an answer, approve): deny, decline and reject are not.
  answer_request: 'HIGH',
  get_agent_changes: 'LOW',
  list_merges: 'LOW',
  // A dry run is not confirmed (server/tools/merge-agent-work.ts): it changes nothing.
  merge_agent_work: 'HIGH',
};

export interface PolicyOptions {
  level: SecurityLevel;
  allowBypass: boolean;
  /** realpaths; at HIGH a root must lie under one of them. */
  allowedRoots: string[];
  home?: string;
}

function within(outer: string, inner: string): boolean {
  const rel = relative(outer, inner);
  return rel === '' || (!isAbsolute(rel) && rel.split(sep)[0] !== '..');
}

/** Directories whose contents belong to the operating system, not to a codebase. */
const SYSTEM_TREES = [
  '/bin',
  '/sbin',
  '/boot',
  '/dev',
  '/etc',
  '/lib',
  '/lib32',
  '/lib64',
  '/proc',
  '/sys',
  '/usr/bin',
  '/usr/sbin',
  '/usr/lib',
  '/usr/libexec',
  '/System',
  '/private/etc',
  '/private/var/db',
];
/** Directories that hold many unrelated things: a root there would span all of them. */
const SYSTEM_DIRS = [
  '/',
  '/usr',
  '/var',
  '/private',
  '/private/var',
  '/opt',
  '/home',
  '/Users',
  '/Library',
  '/Applications',
  '/Volumes',
  '/mnt',
  '/media',
  '/srv',
  '/root',
  '/tmp',
  '/private/tmp',
  '/run',
];

/** Refuses a session root the security level does not allow; `root` is a realpath. */
export function checkRoot(root: string, p: PolicyOptions): void {
  if (p.level === 'LOW') return;
  const home = p.home ?? homedir();
  if (root === '/' || root === home) {
    throw new UserError(
      `root ${root} is ${root === '/' ? 'the filesystem root' : 'your home directory itself'}: at security level ${p.level} a root must be one codebase. Pick its directory, or start tabcrew with --security-level LOW.`,
    );
  }
  if (SYSTEM_DIRS.includes(root) || SYSTEM_TREES.some((t) => within(t, root))) {
    throw new UserError(
      `root ${root} is a system directory: at security level ${p.level} agents may not work there. Pick a codebase directory, or start tabcrew with --security-level LOW.`,
    );
  }
  if (p.level === 'HIGH' && !p.allowedRoots.some((a) => within(a, root))) {
    const allowed = p.allowedRoots.length ? p.allowedRoots.join(', ') : 'none given';
    throw new UserError(
      `root ${root} is not under an allowed root (${allowed}): at security level HIGH roots must lie under an --allowed-root. Restart tabcrew with --allowed-root <dir>.`,
    );
  }
}

const BYPASS_MODES = new Set(['bypassPermissions']);
/** Modes in which something other than a person approves tool calls: Claude Code's classifier (auto). */
const UNASKED_MODES = new Set(['bypassPermissions', 'auto']);

/**
 * The permission mode an agent is launched with, or a refusal of one the security level does
 * not allow. At HIGH every tool call is the person's to approve: Claude Code 2.1.330+ starts in
 * auto mode when nothing names a mode (a classifier approves what it judges low-risk), so HIGH
 * names `default` itself; below HIGH an absent mode stays absent and the person's own Claude
 * Code settings decide.
 */
export function permissionModeFor(mode: string | undefined, p: PolicyOptions): string | undefined {
  if (p.level === 'HIGH') {
    if (mode && UNASKED_MODES.has(mode)) throw new UserError(`permission_mode ${mode} is never allowed at security level HIGH: use acceptEdits or default.`);
    return mode ?? 'default';
  }
  if (mode && BYPASS_MODES.has(mode) && p.level === 'MEDIUM' && !p.allowBypass) {
    throw new UserError(
      `permission_mode ${mode} lets the agent run any command unasked: at security level MEDIUM it needs tabcrew started with --allow-bypass. Use acceptEdits, or restart with --allow-bypass.`,
    );
  }
  return mode;
}

/** Characters Claude Code's rule syntax reads as pattern or rule syntax, not as part of a name. */
const RULE_SPECIAL = /[*?[\]{}()!\\]/;

/**
 * Claude Code permission rules that keep an agent out of other sessions' roots (`//` marks
 * an absolute path in Claude Code's rule syntax): a second layer under the PreToolUse hook
 * (claude/boundary.ts), which is the boundary that follows sessions created later. They
 * are fixed at launch, and a root whose name holds pattern characters (`app[1]`, `a(b)`)
 * gets none: such a rule would not match it, and the hook covers it.
 */
export function denyRulesFor(otherRoots: string[], p: PolicyOptions): string[] {
  if (p.level === 'LOW') return [];
  return otherRoots.filter((r) => !RULE_SPECIAL.test(r)).flatMap((r) => [`Read(/${r}/**)`, `Edit(/${r}/**)`]);
}

/** At HIGH, HIGH-risk tools are confirmed by the person (elicitation) or by `confirm`. */
export function needsConfirmation(tool: string, level: SecurityLevel): boolean {
  return level === 'HIGH' && TOOL_RISK[tool] === 'HIGH';
}
