import { describe, expect, it } from 'vitest';
import { keepStdoutForProtocol } from '../../src/util/stdout-guard.js';

describe('while serve speaks MCP over stdio', () => {
  it('a library printing with console.log, info or debug writes to stderr, not into the protocol', () => {
    const stderr: unknown[][] = [];
    const stdout: unknown[][] = [];
    const fake = {
      log: (...a: unknown[]) => stdout.push(a),
      info: (...a: unknown[]) => stdout.push(a),
      debug: (...a: unknown[]) => stdout.push(a),
      error: (...a: unknown[]) => stderr.push(a),
    };
    keepStdoutForProtocol(fake);
    fake.info('The user aborted a request.');
    fake.log('x', 1);
    fake.debug('y');
    expect(stdout).toEqual([]);
    expect(stderr).toEqual([['The user aborted a request.'], ['x', 1], ['y']]);
  });
});
