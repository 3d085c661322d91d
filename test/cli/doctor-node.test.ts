import { describe, expect, it } from 'vitest';
import { checkNode } from '../../src/cli/doctor.js';

describe('doctor: the node check', () => {
  it('passes Node 20 and says it is supported and verified, and why npm warns EBADENGINE', () => {
    const c = checkNode('20.20.2');
    expect(c.status).toBe('ok');
    expect(c.detail).toMatch(
      /^v20\.20\.2 \(.*\): supported, and what the test suite runs on\. Claude Code's npm package declares Node 22\+ \(npm install warns EBADENGINE\)/,
    );
  });

  it('passes Node 22 plainly and fails Node 18 with the versions that work', () => {
    expect(checkNode('22.12.0')).toEqual({ check: 'node', status: 'ok', detail: `v22.12.0 (${process.execPath})` });
    const old = checkNode('18.20.0');
    expect(old.status).toBe('fail');
    expect(old.detail).toMatch(/needs Node\.js 20 or later \(22 is what Claude Code's npm package asks for\)/);
  });
});
