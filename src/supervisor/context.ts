import type { AuditLog } from '../audit/audit-log.js';
import type { Logger } from '../audit/logger.js';
import type { Config } from '../config.js';
import type { StateStore } from '../store/state-store.js';
import type { TerminalBackend } from '../terminals/backend.js';
import type { AgentObserver } from './observer.js';
import type { Limits } from './limits.js';
import type { Owner } from './owner.js';
import type { StartQueue } from './start-queue.js';
import type { RuntimeWatch } from './runtime-watch.js';

export type { Progress } from './progress.js';

/** A delivery's outcome and its time from typing to Claude Code's confirmation (or to giving up). */
export interface DeliveryTiming {
  agent: string;
  outcome: 'confirmed' | 'unknown';
  ms: number;
}

/**
 * The services the Supervisor makes once and hands out. No owner takes all of them: each
 * names the ones it uses (`Pick<Services, 'store' | 'log'>`), so its constructor says what
 * it depends on.
 */
export interface Services {
  config: Config;
  store: StateStore;
  backend: TerminalBackend;
  log: Logger;
  /** The environment agents inherit (the server's own). */
  env: NodeJS.ProcessEnv;
  observer: AgentObserver;
  /** This supervisor, as it marks the agents it is launching. */
  owner: Owner;
  /** Status changes and recovery actions are on record here. */
  audit?: Pick<AuditLog, 'append'>;
  /** The crew-wide start queue (--max-starting): every launch of Claude Code waits its turn here. */
  starts?: StartQueue;
  /** Refuses starts and messages while the crew's account is at an API usage limit (supervisor/limits.ts). */
  limits?: Pick<Limits, 'refuse' | 'waitUntilClear' | 'resumeOf' | 'blockedUntil'>;
  /** Told of every delivery as it confirms or gives up (Supervisor.onDelivery adds to it). */
  deliveries?: Set<(d: DeliveryTiming) => void>;
  /** Hook activity in the runtime folder as the OS reports it (fs.watch): what `serve` waits on instead of polling. */
  activity?: RuntimeWatch;
}
