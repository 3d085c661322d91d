import { AuditLog } from '../audit/audit-log.js';
import { closeLogger, createLogger, type Logger } from '../audit/logger.js';
import type { Config } from '../config.js';
import { openStateStore, type StateStore } from '../store/state-store.js';
import { Supervisor } from '../supervisor/supervisor.js';
import type { TerminalBackend } from '../terminals/backend.js';
import { createBackend } from '../terminals/index.js';
import { tightenPrivateDirs } from './private-dirs.js';

export interface Stack {
  config: Config;
  log: Logger;
  store: StateStore;
  backend: TerminalBackend;
  supervisor: Supervisor;
  audit: AuditLog;
  close(): Promise<void>;
}

/** The layers every command that touches agents needs, wired as `serve` wires them. */
export async function openStack(
  config: Config,
  opts: { log?: ReturnType<typeof createLogger>; alerts?: ConstructorParameters<typeof Supervisor>[0]['alerts'] } = {},
): Promise<Stack> {
  // A fresh clone has state/ and logs/ as 0755 (git does not keep dir modes): close them first.
  for (const notice of tightenPrivateDirs(config)) process.stderr.write(`tabcrew: ${notice}\n`);
  const log = opts.log ?? createLogger(config.logDir);
  // Decrypts the state once: an unreadable state stops here, before anything acts on it.
  const store = await openStateStore({ dir: config.stateDir, keySource: config.keySource, keyFile: config.keyFile });
  for (const notice of store.notices) process.stderr.write(`tabcrew: ${notice}\n`);
  const backend = await createBackend(config);
  // The audit key and the anchor live in the encrypted state: the key is made at the first
  // start, and every save of the state records the audit log's head, so a log cut short (or
  // deleted with its head file) shows against it.
  const auditKey = Buffer.from(await store.auditKey(), 'base64');
  const audit = new AuditLog(config.logDir, { log, key: auditKey, expected: (await store.read()).audit });
  await audit.init();
  store.setBeforeSave((state) => {
    const head = audit.head();
    if (head) state.audit = head;
  });
  const supervisor = new Supervisor({ config, store, backend, log, audit, alerts: opts.alerts });
  return {
    config,
    log,
    store,
    backend,
    supervisor,
    audit,
    async close() {
      await backend.dispose();
      await audit.close();
      await closeLogger(log);
    },
  };
}
