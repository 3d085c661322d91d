import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import winston from 'winston';

export type Logger = Pick<winston.Logger, 'info' | 'warn' | 'error' | 'debug'>;

/**
 * The operational log: JSON lines in `<logDir>/tabcrew.log`. Never stdout — on
 * `tabcrew serve` stdout carries the MCP protocol. Message bodies are never logged.
 */
export function createLogger(logDir: string, level = process.env.TABCREW_LOG_LEVEL ?? 'info'): winston.Logger {
  mkdirSync(logDir, { recursive: true, mode: 0o700 });
  return winston.createLogger({
    level,
    format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    transports: [new winston.transports.File({ filename: join(logDir, 'tabcrew.log'), options: { mode: 0o600 } })],
  });
}

/** For tests and one-shot commands that should not write files. */
export const silentLogger: Logger = winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
