import type { Logger } from '../audit/logger.js';
import type { AuditLog } from '../audit/audit-log.js';
import { agentDirFor } from '../claude/launch.js';
import type { Config } from '../config.js';
import type { StateStore } from '../store/state-store.js';
import type { AgentRecord, SessionRecord } from '../store/types.js';
import type { TerminalBackend } from '../terminals/backend.js';
import { AgentWatch, claudeConfigDir } from './agent-watch.js';
import { join } from 'node:path';
import type { KeyedMutex } from './timing.js';

/** Reports progress of a long operation (turned into MCP progress notifications). */
export type Progress = (p: { progress: number; total?: number; message: string }) => void;

/** What the supervisor's parts share. */
export interface SupervisorContext {
  config: Config;
  store: StateStore;
  backend: TerminalBackend;
  log: Logger;
  /** The environment agents inherit (the server's own). */
  env: NodeJS.ProcessEnv;
  mutex: KeyedMutex;
  watches: Map<string, AgentWatch>;
  /** Status changes and recovery actions are on record here. */
  audit?: Pick<AuditLog, 'append'>;
}

export function eventsFileFor(ctx: SupervisorContext, claudeSessionId: string): string {
  return join(agentDirFor(ctx.config.runtimeDir, claudeSessionId), 'events.jsonl');
}

/** The watch of the agent's current conversation (one per Claude session id, cached). */
export function watchFor(ctx: SupervisorContext, agent: AgentRecord, session: SessionRecord): AgentWatch | undefined {
  const id = agent.claudeSessionId;
  if (!id) return undefined;
  let watch = ctx.watches.get(id);
  if (!watch) {
    watch = new AgentWatch(id, eventsFileFor(ctx, id), session.root, claudeConfigDir(ctx.env));
    ctx.watches.set(id, watch);
  }
  return watch;
}
