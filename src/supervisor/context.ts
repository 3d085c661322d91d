import type { AuditLog } from '../audit/audit-log.js';
import type { Logger } from '../audit/logger.js';
import type { Config } from '../config.js';
import type { StateStore } from '../store/state-store.js';
import type { TerminalBackend } from '../terminals/backend.js';
import type { AgentObserver } from './observer.js';
import type { Owner } from './owner.js';
import type { KeyedMutex } from './timing.js';

/** Reports progress of a long operation (turned into MCP progress notifications). */
export type Progress = (p: { progress: number; total?: number; message: string }) => void;

/** A delivery's outcome and its time from typing to Claude Code's confirmation (or to giving up). */
export interface DeliveryTiming {
  agent: string;
  outcome: 'confirmed' | 'unknown';
  ms: number;
}

/** What the supervisor's parts share. */
export interface SupervisorContext {
  config: Config;
  store: StateStore;
  backend: TerminalBackend;
  log: Logger;
  /** The environment agents inherit (the server's own). */
  env: NodeJS.ProcessEnv;
  mutex: KeyedMutex;
  observer: AgentObserver;
  /** This supervisor, as it marks the agents it is launching. */
  owner: Owner;
  /** Status changes and recovery actions are on record here. */
  audit?: Pick<AuditLog, 'append'>;
  /** Told of every delivery as it confirms or gives up (Supervisor.onDelivery). */
  deliveries?: Set<(d: DeliveryTiming) => void>;
}
