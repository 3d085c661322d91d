import { homedir } from 'node:os';
import { hookProgram } from '../claude/launch.js';
import { hookStdout, parseHookInput, preToolUseReason, spoolLine, toolUseIdOf } from '../claude/pre-tool-use.js';
import { validToolUseId } from '../claude/usage-nudge.js';
import type { StateStore } from '../store/state-store.js';
import type { VerifiedAgent } from './agent-desk.js';
import { boundariesPath } from './boundaries.js';
import { agentAndSession } from './roster.js';
import type { UsageLedger } from './usage-ledger.js';

export interface ToolGuardDeps {
  store: Pick<StateStore, 'read'>;
  runtimeDir: string;
  /** The environment agents inherit: their HOME. */
  env: NodeJS.ProcessEnv;
  ledger: Pick<UsageLedger, 'count'>;
  /** The hook program the guard protects; default the one agents' settings name. */
  hook?: string;
}

/** What the perl hook writes: the spool line and its stdout, as bytes in hex (perl decodes hex with `pack`, not JSON). */
export interface PreToolUseAnswer {
  record_hex: string;
  stdout_hex: string;
}

/**
 * An agent's PreToolUse, answered for its perl hook over the agent socket
 * (claude/hook-commands.ts): the same verdict, record and output the node hook program would
 * make (claude/pre-tool-use.ts), with the values its environment would carry taken from the
 * agent's record and this server's config, never from the caller: the caller names only
 * whether its launch has boundaries. The usage is counted before the answer, as the node hook
 * waits for its count before the tool runs.
 */
export class ToolGuard {
  constructor(private readonly deps: ToolGuardDeps) {}

  async preToolUse(caller: VerifiedAgent, p: { input_hex: string; launch?: string; boundaries: boolean }): Promise<PreToolUseAnswer> {
    const { input, unreadable } = parseHookInput(Buffer.from(p.input_hex, 'hex').toString('utf8'));
    // Only the cwd fallback comes from the state: a read that fails leaves the hook's answer to the call's own cwd.
    const state = await this.deps.store.read().catch(() => undefined);
    const found = state && agentAndSession(state, caller.agent);
    const reason = preToolUseReason(input, unreadable, {
      boundariesFile: p.boundaries ? boundariesPath(this.deps.runtimeDir) : undefined,
      session: caller.sessionId,
      home: this.deps.env.HOME || homedir(),
      hook: this.deps.hook ?? hookProgram(),
      // The hook's own cwd is where Claude Code runs: the agent's worktree or its root.
      cwd: found && (found.agent.worktree?.path ?? found.session.root),
    });
    await this.deps.ledger.count(caller.agent, validToolUseId(toolUseIdOf(input))).catch(() => undefined);
    return {
      record_hex: Buffer.from(spoolLine(input, reason, Date.now(), p.launch || undefined), 'utf8').toString('hex'),
      stdout_hex: Buffer.from(hookStdout(reason), 'utf8').toString('hex'),
    };
  }
}
