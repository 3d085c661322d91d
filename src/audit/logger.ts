import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import winston from 'winston';
import { redactValue } from './redact.js';

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
 * The operational log: JSON lines in `<logDir>/tabcrew.log`. Never stdout — on
 * `tabcrew serve` stdout carries the MCP protocol. Message bodies are never logged, and
 * whatever else reaches it (error messages, paths, tool arguments) is redacted.
 */
export function createLogger(logDir: string, level = process.env.TABCREW_LOG_LEVEL ?? 'info'): winston.Logger {
  mkdirSync(logDir, { recursive: true, mode: 0o700 });
  return winston.createLogger({
    level,
    format: winston.format.combine(winston.format.timestamp(), redactFormat(), winston.format.json()),
    transports: [new winston.transports.File({ filename: join(logDir, 'tabcrew.log'), options: { mode: 0o600 } })],
  });
}

/** For tests and one-shot commands that should not write files. */
export const silentLogger: Logger = winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
