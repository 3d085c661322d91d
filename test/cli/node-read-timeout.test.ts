import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { crewOptionsFrom, withNodeOptions } from '../../src/cli/nodes.js';

const parse = (...argv: string[]) => {
  const cmd = withNodeOptions(new Command())
    .exitOverride()
    .configureOutput({ writeErr: () => undefined });
  cmd.parse(argv, { from: 'user' });
  return crewOptionsFrom(cmd.opts());
};

describe('--node-read-timeout', () => {
  it("sets each node's deadline in a crew-wide read, 5 s by default", () => {
    expect(parse().readTimeoutMs).toBe(5000);
    expect(parse('--node-read-timeout', '0.5').readTimeoutMs).toBe(500);
  });

  it('refuses a value that is not a positive number of seconds, saying what it takes', () => {
    expect(() => parse('--node-read-timeout', '0')).toThrow(/must be a number of seconds above 0/);
    expect(() => parse('--node-read-timeout', 'soon')).toThrow(/must be a number of seconds above 0/);
  });
});
