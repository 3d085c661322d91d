import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import winston from 'winston';
import { redact, redactValue } from './redact.js';

export type Logger = Pick<winston.Logger, 'info' | 'warn' | 'error' | 'debug'>;

/**
 * A winston format that redacts secrets from every field of a log record (message and
 * metadata, deeply). It builds a new info object so the caller's metadata is not modified,
 * and keeps winston's symbol keys (level, splat) as they are.
 */
export const redactFormat = winston.format((info) => {
  const out: Record<string | symbol, unknown> = {};
  for (const key of Reflect.ownKeys(info)) {
    const value = (info as Record<string | symbol, unknown>)[key];
    out[key] = typeof key === 'symbol' || key === 'level' ? value : redactValue(value, key);
  }
  return out as winston.Logform.TransformableInfo;
});

/**
 * The operational log: JSON lines appended to `<logDir>/tabcrew.log` (0600), kept across
 * starts. Never stdout — on `tabcrew serve` stdout carries the MCP protocol. Message bodies
 * are never logged, and whatever else reaches it (error messages, paths, tool arguments) is
 * redacted.
 *
 * It never throws: work that outlives the shutdown (a recovery the client left in the
 * middle of) may still log after `closeLogger`, and winston would end the process with
 * "write after end". Such a late error or warning goes to stderr as one line instead; a
 * failing file (disk full) is said once on stderr.
 */
export function createLogger(logDir: string, level = process.env.TABCREW_LOG_LEVEL ?? 'info'): winston.Logger {
  mkdirSync(logDir, { recursive: true, mode: 0o700 });
  const file = join(logDir, 'tabcrew.log');
  const logger = winston.createLogger({
    level,
    format: winston.format.combine(winston.format.timestamp(), redactFormat(), winston.format.json()),
    // `options` replaces winston's own ({ flags: 'a' }): without the flag every start emptied the file.
    transports: [new winston.transports.File({ filename: file, options: { flags: 'a', mode: 0o600 } })],
  });
  const write = logger.write.bind(logger) as (chunk: unknown) => boolean;
  logger.write = ((chunk: winston.Logform.TransformableInfo) => {
    if (!isEnded(logger)) return write(chunk);
    if (chunk && (chunk.level === 'error' || chunk.level === 'warn')) process.stderr.write(`tabcrew: ${chunk.level}: ${redact(String(chunk.message))}\n`);
    return false;
  }) as typeof logger.write;
  let said = false;
  logger.on('error', (e: Error) => {
    if (!said) process.stderr.write(`tabcrew: warning: cannot write the operational log ${file}: ${e.message}\n`);
    said = true;
  });
  return logger;
}

// winston's streams are readable-stream's, whose state predates Node's `writableEnded`.
function isEnded(log: winston.Logger): boolean {
  const state = (log as unknown as { _writableState?: { ending?: boolean; destroyed?: boolean } })._writableState;
  return !!(log.writableEnded || state?.ending || state?.destroyed || log.destroyed);
}

/** Ends the log once what was logged is written (at most `timeoutMs`); later records never throw (see createLogger). */
export function closeLogger(log: winston.Logger, timeoutMs = 500): Promise<void> {
  if (isEnded(log)) return Promise.resolve();
  return new Promise<void>((resolve) => {
    log.on('finish', () => resolve());
    log.end();
    setTimeout(resolve, timeoutMs).unref();
  });
}

/** For tests and one-shot commands that should not write files. */
export const silentLogger: Logger = winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
