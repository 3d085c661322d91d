import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { UsageTotals } from './transcript.js';

/**
 * What Claude models cost, in USD per million tokens, and what a conversation's usage
 * costs by them. Claude Code writes tokens, not money, into its transcripts (see
 * docs/claude-code-facts.md), so tabcrew multiplies. The built-in table is Anthropic's
 * public list price for the models it names (docs/long-running.md says which date);
 * `--prices-file` replaces entries or adds models. A model the table does not name is
 * "unpriced": its tokens are reported, its cost is not — never as $0.
 */

const perMillion = z.number().finite().nonnegative();

export const modelPriceSchema = z
  .object({
    input: perMillion,
    output: perMillion,
    /** Reading the prompt cache. */
    cache_read: perMillion,
    /** Writing the prompt cache (Claude Code's default 5-minute cache). */
    cache_write: perMillion,
  })
  .strict();

/** `--prices-file`: a JSON object keyed by model id. */
export const priceTableSchema = z.record(z.string().min(1).max(200), modelPriceSchema);

export type ModelPrice = z.infer<typeof modelPriceSchema>;
export type PriceTable = z.infer<typeof priceTableSchema>;

const p = (input: number, output: number, cache_read: number, cache_write: number): ModelPrice => ({ input, output, cache_read, cache_write });

/** Anthropic list prices (USD / million tokens) as published for these models; see docs/long-running.md. */
export const DEFAULT_PRICES: PriceTable = {
  'claude-opus-4-5': p(5, 25, 0.5, 6.25),
  'claude-opus-4-1': p(15, 75, 1.5, 18.75),
  'claude-opus-4': p(15, 75, 1.5, 18.75),
  'claude-sonnet-4-5': p(3, 15, 0.3, 3.75),
  'claude-sonnet-4': p(3, 15, 0.3, 3.75),
  'claude-3-7-sonnet': p(3, 15, 0.3, 3.75),
  'claude-haiku-4-5': p(1, 5, 0.1, 1.25),
  'claude-3-5-haiku': p(0.8, 4, 0.08, 1),
};

/** The built-in table with the file's entries on top; a file that is not a valid table is refused with the reason. */
export function loadPriceTable(file?: string): PriceTable {
  if (!file) return { ...DEFAULT_PRICES };
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`--prices-file ${file} could not be read as JSON (${(e as Error).message}). Give a JSON object keyed by model id.`, { cause: e });
  }
  const parsed = priceTableSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `--prices-file ${file} is not a price table: ${issue?.path.join('.') || 'top level'}: ${issue?.message}. ` +
        'Expected {"<model id>": {"input": N, "output": N, "cache_read": N, "cache_write": N}}, USD per million tokens.',
    );
  }
  return { ...DEFAULT_PRICES, ...parsed.data };
}

/**
 * The price of a model id: the id itself, else the id without its release date
 * (`claude-sonnet-4-5-20250929` → `claude-sonnet-4-5`) or a bracketed variant (`[1m]`).
 * No looser match: `claude-opus-4-6` is not priced as `claude-opus-4`, whose price differs.
 */
export function priceOf(table: PriceTable, model: string): ModelPrice | undefined {
  if (Object.hasOwn(table, model)) return table[model];
  const base = model.replace(/\[[^\]]*\]$/, '').replace(/-\d{8}$/, '');
  return Object.hasOwn(table, base) ? table[base] : undefined;
}

/** USD for some tokens at a price; rounded to a millionth of a dollar so sums stay exact enough. */
export function costOf(t: UsageTotals, price: ModelPrice): number {
  const usd = (t.input * price.input + t.output * price.output + t.cache_read * price.cache_read + t.cache_creation * price.cache_write) / 1e6;
  return Math.round(usd * 1e6) / 1e6;
}
