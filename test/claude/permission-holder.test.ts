import { describe, expect, it } from 'vitest';
import { holderAlive } from '../../src/claude/permission-files.js';

describe("a permission request's waiting hook", () => {
  const gone = () => false;
  it('is looked up by pid in the same PID namespace, or when the request names none', () => {
    expect(holderAlive({ pid: 4242, pid_ns: 'pid:[1]' }, gone, 'pid:[1]')).toBe(false);
    expect(holderAlive({ pid: 4242 }, gone, 'pid:[1]')).toBe(false);
  });
  it('counts as waiting when it runs in another PID namespace (a sandboxed agent), whose pids mean nothing on the host', () => {
    expect(holderAlive({ pid: 2, pid_ns: 'pid:[4026532176]' }, gone, 'pid:[1]')).toBe(true);
  });
});
