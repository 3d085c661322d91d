import { describe, expect, it } from 'vitest';
import { sumUsage, usageView, ZERO_USAGE } from '../../src/supervisor/usage.js';

const prices = { priced: { input: 2, output: 10, cache_read: 0.5, cache_write: 4 } };
const t = (input: number, output: number, cache_read = 0, cache_creation = 0) => ({ input, output, cache_read, cache_creation });

describe('usage and cost', () => {
  it('an agent on a priced model has its cost; tokens are split by kind', () => {
    const u = usageView(new Map([['priced', t(1000, 200, 50, 100)]]), prices);
    expect(u).toMatchObject({
      input: 1000,
      output: 200,
      cache_read: 50,
      cache_write: 100,
      total_tokens: 1350,
      cost_usd: 0.004425,
      cost_complete: true,
      unpriced_models: [],
    });
  });

  it('a model missing from the table is unpriced, never $0', () => {
    const u = usageView(new Map([['mystery', t(1000, 200)]]), prices);
    expect(u.cost_usd).toBeNull();
    expect(u.unpriced_models).toEqual(['mystery']);
    expect(u.by_model[0]!.cost_usd).toBeNull();
  });

  it('priced and unpriced models together: the priced cost, marked incomplete', () => {
    const u = usageView(
      new Map([
        ['mystery', t(5, 5)],
        ['priced', t(1000, 0)],
      ]),
      prices,
    );
    expect(u).toMatchObject({ cost_usd: 0.002, cost_complete: false, unpriced_models: ['mystery'] });
  });

  it('session and crew totals add agents up per model', () => {
    const a = usageView(new Map([['priced', t(1000, 0)]]), prices);
    const b = usageView(
      new Map([
        ['priced', t(500, 100)],
        ['mystery', t(1, 1)],
      ]),
      prices,
    );
    const total = sumUsage([a, b, ZERO_USAGE]);
    expect(total).toMatchObject({ input: 1501, output: 101, cost_usd: 0.004, cost_complete: false, unpriced_models: ['mystery'] });
    expect(total.by_model.map((m) => m.model)).toEqual(['mystery', 'priced']);
  });

  it('no tokens cost nothing', () => {
    expect(ZERO_USAGE).toMatchObject({ total_tokens: 0, cost_usd: 0, cost_complete: true });
  });
});
