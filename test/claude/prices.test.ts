import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { costOf, DEFAULT_PRICES, loadPriceTable, priceOf } from '../../src/claude/prices.js';

const dir = mkdtempSync(join(tmpdir(), 'tabcrew-prices-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('price table', () => {
  it('a prices file adds models and replaces built-in ones, keeping the rest', () => {
    const t = loadPriceTable(
      file(
        'ok.json',
        JSON.stringify({
          'claude-opus-4-8': { input: 2, output: 10, cache_read: 0.5, cache_write: 4 },
          'claude-sonnet-4-5': { input: 1, output: 1, cache_read: 1, cache_write: 1 },
        }),
      ),
    );
    expect(t['claude-opus-4-8']).toEqual({ input: 2, output: 10, cache_read: 0.5, cache_write: 4 });
    expect(t['claude-sonnet-4-5']!.input).toBe(1);
    expect(t['claude-haiku-4-5']).toEqual(DEFAULT_PRICES['claude-haiku-4-5']);
  });

  it('a prices file that is not a table is refused naming the bad entry and the expected shape', () => {
    expect(() => loadPriceTable(file('neg.json', JSON.stringify({ m: { input: -1, output: 1, cache_read: 1, cache_write: 1 } })))).toThrow(
      /m\.input.*USD per million tokens/s,
    );
    expect(() => loadPriceTable(file('extra.json', JSON.stringify({ m: { input: 1, output: 1, cache_read: 1, cache_write: 1, cache_creation: 1 } })))).toThrow(
      /not a price table/,
    );
    expect(() => loadPriceTable(file('bad.json', '{nope'))).toThrow(/could not be read as JSON/);
    expect(() => loadPriceTable(join(dir, 'missing.json'))).toThrow(/could not be read/);
  });

  it('a dated model id takes its base price; a near name does not', () => {
    expect(priceOf(DEFAULT_PRICES, 'claude-sonnet-4-5-20250929')).toEqual(DEFAULT_PRICES['claude-sonnet-4-5']);
    expect(priceOf(DEFAULT_PRICES, 'claude-sonnet-4-5[1m]')).toEqual(DEFAULT_PRICES['claude-sonnet-4-5']);
    expect(priceOf(DEFAULT_PRICES, 'claude-opus-4-6')).toBeUndefined();
    expect(priceOf(DEFAULT_PRICES, 'constructor')).toBeUndefined();
  });

  it('cost is tokens times USD per million, each kind at its own price', () => {
    const price = { input: 2, output: 10, cache_read: 0.5, cache_write: 4 };
    // 1000*2 + 200*10 + 50*0.5 + 100*4 = 4425 micro-dollars
    expect(costOf({ input: 1000, output: 200, cache_read: 50, cache_creation: 100 }, price)).toBe(0.004425);
  });
});
