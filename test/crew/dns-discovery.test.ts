import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/audit/logger.js';
import { DnsDiscovery, dnsServerAddress, nodeNameOfTarget, parseDiscovery, type SrvResolver } from '../../src/crew/dns-discovery.js';
import { openFront } from '../../src/crew/front.js';
import type { HttpNodeSpec } from '../../src/crew/node-spec.js';
import { until } from '../support/until.js';

const dir = mkdtempSync(join(tmpdir(), 'tabcrew-dns-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const log = createLogger(join(dir, 'logs'));
const FP = 'AB:'.repeat(31) + 'AB';

type Srv = { name: string; port: number; priority?: number; weight?: number };

/** A resolver whose records the test changes between lookups; `fail` makes it unreachable. */
function fakeResolver(): SrvResolver & { srv: Srv[]; a: Record<string, string>; fail?: string; asked: number } {
  const r = {
    srv: [] as Srv[],
    a: {} as Record<string, string>,
    fail: undefined as string | undefined,
    asked: 0,
    resolveSrv(): Promise<{ name: string; port: number; priority: number; weight: number }[]> {
      r.asked++;
      if (r.fail) return Promise.reject(Object.assign(new Error(`queryS ${r.fail}`), { code: r.fail }));
      if (!r.srv.length) return Promise.reject(Object.assign(new Error('queryS ENOTFOUND'), { code: 'ENOTFOUND' }));
      return Promise.resolve(r.srv.map((s) => ({ priority: 0, weight: 0, ...s })));
    },
    resolve4(name: string): Promise<string[]> {
      return r.a[name] ? Promise.resolve([r.a[name]]) : Promise.reject(Object.assign(new Error('ENODATA'), { code: 'ENODATA' }));
    },
    resolve6(): Promise<string[]> {
      return Promise.reject(Object.assign(new Error('ENODATA'), { code: 'ENODATA' }));
    },
  };
  return r;
}

const discovery = (over: Partial<Parameters<typeof parseDiscovery>[1]['http']> = {}) =>
  parseDiscovery('dns-srv:_tabcrew._tcp.crew.svc.cluster.local', {
    refreshMs: 30_000,
    http: { tokenFiles: { '*': '/run/secrets/tabcrew/token' }, fingerprintDir: '/run/fp', ...over },
  });

describe('--nodes-from dns-srv:…', () => {
  it('is parsed with its DNS server, and refused without a shared token file or a way to trust certificates', () => {
    expect(discovery()).toMatchObject({ srv: '_tabcrew._tcp.crew.svc.cluster.local', tokenFile: '/run/secrets/tabcrew/token', refreshMs: 30_000 });
    expect(discovery().trust('tabcrew-0')).toEqual({ kind: 'fingerprint-file', file: '/run/fp/tabcrew-0.sha256' });
    expect(discovery({ fingerprintDir: undefined, caFile: '/ca.pem' }).trust('tabcrew-0')).toEqual({ kind: 'ca', caFile: '/ca.pem' });
    expect(discovery({ fingerprints: { 'tabcrew-1': FP.toLowerCase() } }).trust('tabcrew-1')).toMatchObject({ kind: 'fingerprint', fingerprint: FP });
    expect(() => discovery({ tokenFiles: {} })).toThrow(/--node-token-file '\*'=FILE/);
    expect(() => discovery({ fingerprintDir: undefined })).toThrow(/--node-fingerprint-dir D.*--node-ca FILE/);
    expect(() => parseDiscovery('dns:crew.local', { refreshMs: 1, http: {} })).toThrow(/dns-srv:_SERVICE._tcp.DOMAIN/);
    expect(() => parseDiscovery('dns-srv:_tabcrew._tcp.crew;id', { refreshMs: 1, http: {} })).toThrow(/--nodes-from/);
    expect(dnsServerAddress('127.0.0.1:5353')).toBe('127.0.0.1:5353');
    expect(dnsServerAddress('[::1]:53')).toBe('[::1]:53');
    for (const bad of ['localhost', '1.2.3.4:99999', '-x', '1.2.3.4:53 --y']) expect(() => dnsServerAddress(bad), bad).toThrow(/--dns-server/);
  });

  it("names a node by its target's first label, and skips a target whose label is no node name", () => {
    expect(nodeNameOfTarget('tabcrew-0.crew.svc.cluster.local.')).toBe('tabcrew-0');
    expect(nodeNameOfTarget('10-0-0-5.crew.svc.cluster.local')).toBeUndefined();
    expect(nodeNameOfTarget('local.crew.test')).toBeUndefined();
  });

  it('finds one https node per target (port and address from DNS), and says when a target is gone', async () => {
    const r = fakeResolver();
    r.srv = [
      { name: 'tabcrew-1.crew.test', port: 8802 },
      { name: 'tabcrew-0.crew.test.', port: 8801 },
      { name: 'tabcrew-0.other.test', port: 9999, priority: 10 },
      { name: '1bad.crew.test', port: 1 },
    ];
    r.a = { 'tabcrew-0.crew.test': '10.0.0.10', 'tabcrew-1.crew.test': '10.0.0.11' };
    const found: HttpNodeSpec[] = [];
    const gone: string[] = [];
    const d = new DnsDiscovery(discovery(), r, { found: (s) => void found.push(s), gone: (n, why) => void gone.push(`${n}: ${why}`) }, log);
    await d.refresh();
    expect(found.map((s) => [s.name, s.url, s.address, s.host])).toEqual([
      ['tabcrew-0', 'https://tabcrew-0.crew.test:8801/mcp', '10.0.0.10', 'tabcrew-0.crew.test'],
      ['tabcrew-1', 'https://tabcrew-1.crew.test:8802/mcp', '10.0.0.11', 'tabcrew-1.crew.test'],
    ]);
    expect(found[0]).toMatchObject({
      transport: 'http',
      tls: true,
      tokenFile: '/run/secrets/tabcrew/token',
      trust: { kind: 'fingerprint-file', file: '/run/fp/tabcrew-0.sha256' },
    });
    // The resolver cannot be reached: nothing changes.
    r.fail = 'ETIMEOUT';
    await d.refresh();
    expect(gone).toEqual([]);
    r.fail = undefined;
    r.srv = [{ name: 'tabcrew-1.crew.test', port: 8802 }];
    await d.refresh();
    expect(gone).toEqual([expect.stringMatching(/^tabcrew-0: tabcrew-0 is no longer among the SRV records of _tabcrew._tcp.crew.svc.cluster.local/)]);
    // No records at all: every node is gone.
    r.srv = [];
    await d.refresh();
    expect(gone).toHaveLength(2);
  });

  it('on a front: a new target becomes a node, one that disappears goes down saying so, and one that returns is connected again', async () => {
    const r = fakeResolver();
    // Closed loopback ports: the links try and stay down; what matters here is which nodes the front has.
    r.srv = [{ name: 'tabcrew-0.crew.test', port: 1 }];
    r.a = { 'tabcrew-0.crew.test': '127.0.0.1', 'tabcrew-1.crew.test': '127.0.0.1' };
    const front = openFront(
      { nodes: [], discovery: { ...discovery(), refreshMs: 100 } },
      { runtimeDir: dir, log, ready: Promise.resolve(), store: () => undefined, holdsRequest: () => Promise.resolve(false), resolver: r },
    );
    front.start();
    try {
      await until('tabcrew-0 adopted', async () => (front.links.has('tabcrew-0') ? true : undefined), 5000, 50);
      r.srv = [{ name: 'tabcrew-1.crew.test', port: 2 }];
      await until(
        'tabcrew-1 adopted, tabcrew-0 retired',
        async () => (front.links.has('tabcrew-1') && front.links.get('tabcrew-0')?.isRetired ? true : undefined),
        5000,
        50,
      );
      expect(front.links.get('tabcrew-0')!.report()).toMatchObject({ state: 'down', last_error: expect.stringContaining('no longer among the SRV records') });
      r.srv = [
        { name: 'tabcrew-0.crew.test', port: 1 },
        { name: 'tabcrew-1.crew.test', port: 2 },
      ];
      await until('tabcrew-0 back', async () => (front.links.get('tabcrew-0')?.isRetired === false ? true : undefined), 5000, 50);
      expect([...front.links.keys()].sort()).toEqual(['tabcrew-0', 'tabcrew-1']);
    } finally {
      await front.close();
    }
  });
});
