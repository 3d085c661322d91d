import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../src/audit/logger.js';
import type { Alert } from '../../src/notify/alert.js';
import { notifyUrls, originOf, withoutUrls } from '../../src/notify/targets.js';
import { DEFAULT_BACKOFF, retryDelay, WebhookSink } from '../../src/notify/webhook.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const alert = (n = 1): Alert => ({
  event: 'permission',
  level: 'urgent',
  agent: `Agent_${n}`,
  node: 'box',
  session: 'web',
  summary: 'waiting',
  action: 'answer',
  link: null,
  time: new Date().toISOString(),
});

function memoryLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const put = (level: string) => (msg: unknown, meta?: unknown) => void lines.push(`${level} ${String(msg)} ${JSON.stringify(meta ?? {})}`);
  return { lines, info: put('info'), warn: put('warn'), error: put('error'), debug: put('debug') } as unknown as Logger & { lines: string[] };
}

const servers: Server[] = [];
afterEach(() => servers.splice(0).forEach((s) => (s.closeAllConnections(), s.close())));

/** A receiver on 127.0.0.1 that answers each POST with the next status of `answers` (then 200). */
async function receiver(answers: (number | 'hang')[] = []): Promise<{ url: string; got: { at: number; body: string; req: IncomingMessage }[] }> {
  const got: { at: number; body: string; req: IncomingMessage }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      got.push({ at: Date.now(), body, req });
      const a = answers.shift() ?? 200;
      if (a === 'hang') return;
      res.writeHead(a, a === 429 ? { 'retry-after': '0' } : {}).end();
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, got };
}

const fast = { firstMs: 20, maxMs: 100, attempts: 4 };
const until = async (cond: () => boolean, ms = 5000): Promise<void> => {
  for (const end = Date.now() + ms; !cond();) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('retry delays', () => {
  it('double from the first delay, never pass the cap, honour Retry-After within the cap, and are half jitter', () => {
    const b = { firstMs: 1000, maxMs: 8000, attempts: 6 };
    expect([1, 2, 3, 4, 5, 10].map((a) => retryDelay(a, b, undefined, () => 1))).toEqual([1000, 2000, 4000, 8000, 8000, 8000]);
    expect([1, 2, 3].map((a) => retryDelay(a, b, undefined, () => 0))).toEqual([500, 1000, 2000]);
    expect(retryDelay(1, b, 3, () => 1)).toBe(3000);
    expect(retryDelay(1, b, 3600, () => 1)).toBe(8000);
    // All attempts of the default give up within a few minutes.
    const total = Array.from({ length: DEFAULT_BACKOFF.attempts - 1 }, (_, i) => retryDelay(i + 1, DEFAULT_BACKOFF, undefined, () => 1)).reduce(
      (a, b) => a + b,
    );
    expect(total).toBeLessThanOrEqual(5 * 60_000);
  });
});

describe('--notify-url delivery', () => {
  it('POSTs each alert once to every URL, as JSON', async () => {
    const a = await receiver();
    const b = await receiver();
    const sink = new WebhookSink({ urls: [`${a.url}/x?token=s3cret`, b.url], format: 'json', log: memoryLog(), backoff: fast });
    sink.send(alert(1));
    sink.send(alert(2));
    await until(() => a.got.length === 2 && b.got.length === 2);
    expect(a.got.map((g) => JSON.parse(g.body).agent)).toEqual(['Agent_1', 'Agent_2']);
    expect(a.got[0].req.method).toBe('POST');
    expect(a.got[0].req.url).toBe('/x?token=s3cret');
    expect(a.got[0].req.headers['content-type']).toBe('application/json');
    await sink.close();
  });

  it('retries a 5xx and a 429 with backoff, a bounded number of times, and not a 4xx', async () => {
    const flaky = await receiver([503, 429, 200]);
    const log = memoryLog();
    const sink = new WebhookSink({ urls: [flaky.url], format: 'json', log, backoff: fast });
    sink.send(alert());
    await until(() => flaky.got.length === 3);
    expect(flaky.got[1].at - flaky.got[0].at).toBeGreaterThanOrEqual(10);

    const down = await receiver([500, 500, 500, 500, 500, 500]);
    const gone = new WebhookSink({ urls: [down.url], format: 'json', log, backoff: fast });
    gone.send(alert());
    await until(() => log.lines.some((l) => l.startsWith('warn alert not sent') && l.includes('"attempts":4')));
    await new Promise((r) => setTimeout(r, 300));
    expect(down.got).toHaveLength(4);

    const refuses = await receiver([404]);
    const once = new WebhookSink({ urls: [refuses.url], format: 'json', log, backoff: fast });
    once.send(alert());
    await until(() => log.lines.some((l) => l.includes('answered 404')));
    await new Promise((r) => setTimeout(r, 200));
    expect(refuses.got).toHaveLength(1);
    await Promise.all([sink.close(), gone.close(), once.close()]);
  });

  it('never blocks the sender: send() returns at once while the receiver hangs, each attempt times out, and the queue is bounded', async () => {
    const hangs = await receiver(['hang', 'hang', 'hang', 'hang']);
    const log = memoryLog();
    const sink = new WebhookSink({ urls: [hangs.url], format: 'json', log, backoff: { firstMs: 10, maxMs: 10, attempts: 2 }, timeoutMs: 150, queueMax: 3 });
    const t0 = performance.now();
    for (let i = 0; i < 10; i++) sink.send(alert(i));
    expect(performance.now() - t0).toBeLessThan(50);
    expect(log.lines.filter((l) => l.startsWith('warn alert dropped'))).toHaveLength(6);
    await until(() => log.lines.some((l) => l.includes('no answer within 0.15 s')), 3000);
    const t1 = performance.now();
    await sink.close(100);
    expect(performance.now() - t1).toBeLessThan(1000);
  });

  it('logs name a URL by its origin only: never its path, query, user or password', async () => {
    const r = await receiver([500, 500]);
    const log = memoryLog();
    const port = new URL(r.url).port;
    const secretUrl = `http://alice:pa55word@127.0.0.1:${port}/hook/T0K3N?auth=s3cret`;
    const sink = new WebhookSink({ urls: [secretUrl, 'http://127.0.0.1:9/also/T0K3N'], format: 'json', log, backoff: { firstMs: 10, maxMs: 10, attempts: 2 } });
    sink.send(alert());
    await until(() => log.lines.filter((l) => l.startsWith('warn alert not sent')).length === 2);
    const all = log.lines.join('\n');
    for (const secret of ['pa55word', 'alice', 'T0K3N', 's3cret', '/hook']) expect(all).not.toContain(secret);
    expect(all).toContain(`http://127.0.0.1:${port}`);
    expect(withoutUrls(`fetch failed for ${secretUrl}`, [])).toBe(`fetch failed for http://127.0.0.1:${port}`);
    expect(originOf(secretUrl)).toBe(`http://127.0.0.1:${port}`);
    await sink.close();
  });
});

describe('where alert URLs come from', () => {
  it('flags, the environment (several, space-separated) and a file (one a line, # comments), each checked without echoing it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tabcrew-notify-'));
    const file = join(dir, 'urls');
    writeFileSync(file, '# alerts\nhttps://ntfy.sh/topic?auth=tk\n\nhttps://hooks.example.com/a\n', { mode: 0o600 });
    expect(notifyUrls({ urls: ['https://a.example/x https://b.example/y'], file })).toEqual([
      'https://a.example/x',
      'https://b.example/y',
      'https://ntfy.sh/topic?auth=tk',
      'https://hooks.example.com/a',
    ]);
    expect(() => notifyUrls({ urls: ['ftp://user:SeCrEt@x/'] })).toThrow(/notify URL #1 is a ftp: URL/);
    expect(() => notifyUrls({ urls: ['ftp://user:SeCrEt@x/'] })).not.toThrow(/SeCrEt/);
    expect(() => notifyUrls({ urls: ['not a url with T0K3N'] })).toThrow(/is not a URL/);
    expect(() => notifyUrls({ urls: ['not a url with T0K3N'] })).not.toThrow(/T0K3N/);
    expect(() => notifyUrls({ file: join(dir, 'missing') })).toThrow(/cannot be read \(ENOENT\)/);
  });
});
