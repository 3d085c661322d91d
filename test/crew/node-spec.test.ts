import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { collectNodes, parseNodeFlag, readNodesFile } from '../../src/crew/node-spec.js';
import { sshArgv } from '../../src/crew/ssh-argv.js';
import { compareVersions } from '../../src/crew/version-skew.js';

describe('node specs', () => {
  it('--node NAME=ssh://[user@]host[:port] gives user, host and port', () => {
    expect(parseNodeFlag('box1=ssh://dev@box1.lan:2222')).toEqual({ name: 'box1', user: 'dev', host: 'box1.lan', port: 2222 });
    expect(parseNodeFlag('gpu=ssh://[::1]')).toEqual({ name: 'gpu', host: '::1' });
  });

  it('values that could become ssh options or shell text are refused, naming the flag', () => {
    for (const bad of [
      'box=ssh://-oProxyCommand=sh',
      'box=ssh://-l@h',
      'box=ssh://a b',
      'box=http://h',
      '-x=ssh://h',
      'local=ssh://h',
      'box=ssh://h:99999',
      'box=ssh://h;id',
    ]) {
      expect(() => parseNodeFlag(bad), bad).toThrow(/--node/);
    }
  });

  it('a nodes file with a mistake stops the front, naming the file and the entry', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tabcrew-nodes-file-'));
    const file = join(dir, 'nodes.yaml');
    writeFileSync(file, 'nodes:\n  - name: box1\n    url: ssh://dev@box1\n  - name: gpu\n    url: ssh://gpu:-1\n');
    expect(() => readNodesFile(file)).toThrow(/nodes\.yaml, nodes\[1\]/);
    writeFileSync(file, 'nodes:\n  - name: box1\n    url: ssh://dev@box1\n    command: tabcrew serve --tmux-socket crew\n');
    expect(collectNodes(['gpu=ssh://gpu'], file, 'tabcrew serve')).toEqual([
      { name: 'gpu', host: 'gpu', command: 'tabcrew serve' },
      { name: 'box1', user: 'dev', host: 'box1', command: 'tabcrew serve --tmux-socket crew' },
    ]);
    expect(() => collectNodes(['box1=ssh://x'], file, 'tabcrew serve')).toThrow(/given twice/);
    expect(() => readNodesFile(join(dir, 'none.yaml'))).toThrow(/cannot be read/);
  });

  it('--node NAME=https://host:port is an http node with its token file and pinned fingerprint; nodes file paths are relative to it', () => {
    const fp = 'ab'.repeat(32);
    const FP = 'AB:'.repeat(31) + 'AB';
    expect(parseNodeFlag('box=https://box1.lan:8787', { tokenFiles: { '*': '/t' }, fingerprints: { box: fp } })).toEqual({
      transport: 'http',
      name: 'box',
      url: 'https://box1.lan:8787/mcp',
      host: 'box1.lan',
      port: 8787,
      tls: true,
      tokenFile: '/t',
      trust: { kind: 'fingerprint', fingerprint: FP, from: '--node-fingerprint box=…' },
    });
    expect(parseNodeFlag('box=https://[::1]:8787/mcp', { tokenFiles: { box: '/t' }, caFile: '/ca.pem' })).toMatchObject({
      host: '::1',
      url: 'https://[::1]:8787/mcp',
      trust: { kind: 'ca', caFile: '/ca.pem' },
    });
    expect(() => parseNodeFlag('box=https://box1:8787', { fingerprints: { box: fp } })).toThrow(/--node-token-file box=FILE/);
    expect(() => parseNodeFlag('box=https://box1:8787', { tokenFiles: { '*': '/t' } })).toThrow(/--node-fingerprint box=SHA256.*--node-ca FILE/);
    expect(() => parseNodeFlag('box=https://box1:8787', { tokenFiles: { '*': '/t' }, fingerprints: { box: 'nope' } })).toThrow(/not a SHA-256 fingerprint/);
    for (const bad of ['box=https://-x:1', 'box=https://h:1/other', 'box=https://u@h:1', 'box=https://h:0'])
      expect(() => parseNodeFlag(bad, { tokenFiles: { '*': '/t' }, caFile: '/c' }), bad).toThrow(/--node/);
    const dir = mkdtempSync(join(tmpdir(), 'tabcrew-nodes-file-'));
    const file = join(dir, 'nodes.yaml');
    writeFileSync(
      file,
      `nodes:\n  - name: box1\n    url: https://box1:8787\n    token_file: secrets/box1.token\n    fingerprint: "sha256 Fingerprint=${FP}"\n`,
    );
    expect(readNodesFile(file)).toEqual([
      expect.objectContaining({ name: 'box1', tokenFile: join(dir, 'secrets/box1.token'), trust: expect.objectContaining({ fingerprint: FP }) }),
    ]);
  });

  it('ssh runs in batch mode, verifies host keys, multiplexes, and gets the host after --', () => {
    const argv = sshArgv({ name: 'b', user: 'dev', host: 'box1', port: 2222 }, { controlDir: '/run/cm', configFile: '/etc/cfg' }, ['tabcrew serve']);
    expect(argv.slice(0, 2)).toEqual(['-F', '/etc/cfg']);
    for (const o of ['BatchMode=yes', 'StrictHostKeyChecking=yes', 'ControlMaster=auto']) expect(argv).toContain(o);
    expect(argv).toContainEqual(expect.stringMatching(/^ControlPath=\/run\/cm\/[0-9a-f]{16}$/));
    expect(argv.slice(-3)).toEqual(['--', 'box1', 'tabcrew serve']);
  });

  it('versions: the same line is accepted (a patch difference reported), another minor before 1.0 is refused', () => {
    expect(compareVersions('0.1.0', 'tabcrew', '0.1.0')).toEqual({ compatible: true });
    expect(compareVersions('0.1.0', 'tabcrew', '0.1.3')).toMatchObject({ compatible: true, note: expect.stringContaining('0.1.3') });
    expect(compareVersions('0.1.0', 'tabcrew', '0.2.0').compatible).toBe(false);
    expect(compareVersions('1.2.0', 'tabcrew', '1.4.0').compatible).toBe(true);
    expect(compareVersions('0.1.0', 'other', '0.1.0').compatible).toBe(false);
  });
});
