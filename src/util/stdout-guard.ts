/**
 * Sends console.log, console.info and console.debug to stderr. While `tabcrew serve` speaks MCP
 * over stdio, stdout carries the protocol only; a library that prints there (@hono/node-server
 * writes "The user aborted a request." with console.info when a response stream closes early)
 * would corrupt the client's stream.
 */
export function keepStdoutForProtocol(target: Pick<Console, 'log' | 'info' | 'debug' | 'error'> = console): void {
  const toStderr = (...args: unknown[]): void => target.error(...args);
  target.log = toStderr;
  target.info = toStderr;
  target.debug = toStderr;
}
