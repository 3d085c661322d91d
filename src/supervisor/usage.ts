import { z } from 'zod';
import { costOf, priceOf, type PriceTable } from '../claude/prices.js';
import type { UsageTotals } from '../claude/transcript.js';
import type { AgentRecord, AgentUsageLedger, State } from '../store/types.js';
import type { UsageLedger } from './usage-ledger.js';
import { sessionOf } from './roster.js';
import type { FileLook } from '../util/file-look.js';

/*
 * Tokens and cost of agents, sessions and the crew. Tokens are the ones tabcrew counted from the
 * transcripts (every conversation the agent has had; usage-ledger.ts); cost from the price table.
 */

const tokenFields = {
  input: z.number().int().nonnegative(),
  output: z.number().int().nonnegative(),
  cache_read: z.number().int().nonnegative(),
  cache_write: z.number().int().nonnegative(),
};

export const modelUsageSchema = z.object({
  model: z.string(),
  ...tokenFields,
  /** null: the model is not in the price table (unpriced), never 0. */
  cost_usd: z.number().nullable(),
});

export const usageViewSchema = z.object({
  ...tokenFields,
  total_tokens: z.number().int().nonnegative(),
  /** USD of the priced models; null when there are tokens and none of them is priced. */
  cost_usd: z.number().nullable(),
  /** false when some tokens are of unpriced models: cost_usd then covers only the others. */
  cost_complete: z.boolean(),
  unpriced_models: z.array(z.string()),
  by_model: z.array(modelUsageSchema),
});

export type ModelUsage = z.infer<typeof modelUsageSchema>;
export type UsageView = z.infer<typeof usageViewSchema>;

const round = (usd: number): number => Math.round(usd * 1e6) / 1e6;

export function usageView(byModel: ReadonlyMap<string, UsageTotals>, prices: PriceTable): UsageView {
  const models: ModelUsage[] = [...byModel]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([model, t]) => {
      const price = priceOf(prices, model);
      return { model, input: t.input, output: t.output, cache_read: t.cache_read, cache_write: t.cache_creation, cost_usd: price ? costOf(t, price) : null };
    });
  return combine(models);
}

/** Totals over several views (a session's agents, the crew's sessions); per-model lines are merged. */
export function sumUsage(views: readonly UsageView[]): UsageView {
  const merged = new Map<string, ModelUsage>();
  for (const v of views) {
    for (const m of v.by_model) {
      const was = merged.get(m.model);
      if (!was) merged.set(m.model, { ...m });
      else {
        was.input += m.input;
        was.output += m.output;
        was.cache_read += m.cache_read;
        was.cache_write += m.cache_write;
        was.cost_usd = was.cost_usd === null || m.cost_usd === null ? null : round(was.cost_usd + m.cost_usd);
      }
    }
  }
  return combine([...merged.values()].sort((a, b) => a.model.localeCompare(b.model)));
}

function combine(models: ModelUsage[]): UsageView {
  const v: UsageView = {
    input: 0,
    output: 0,
    cache_read: 0,
    cache_write: 0,
    total_tokens: 0,
    cost_usd: 0,
    cost_complete: true,
    unpriced_models: [],
    by_model: models,
  };
  let priced = 0;
  for (const m of models) {
    v.input += m.input;
    v.output += m.output;
    v.cache_read += m.cache_read;
    v.cache_write += m.cache_write;
    const tokens = m.input + m.output + m.cache_read + m.cache_write;
    if (m.cost_usd === null) {
      if (tokens > 0) v.unpriced_models.push(m.model);
    } else {
      priced++;
      v.cost_usd = round(v.cost_usd! + m.cost_usd);
    }
  }
  v.total_tokens = v.input + v.output + v.cache_read + v.cache_write;
  if (v.unpriced_models.length) {
    v.cost_complete = false;
    if (!priced) v.cost_usd = null;
  }
  return v;
}

export const ZERO_USAGE: UsageView = combine([]);

/**
 * An agent's usage as tabcrew counted it (supervisor/usage-ledger.ts), never as its transcripts
 * read now: an agent that empties its transcript does not get its tokens back. Each look
 * counts first, so budgets, status and the audit log's usage record show the same figures.
 */
export class UsageMeter {
  constructor(
    private readonly prices: PriceTable,
    private readonly ledger: UsageLedger,
  ) {}

  get table(): PriceTable {
    return this.prices;
  }

  async agentUsage(agent: Pick<AgentRecord, 'name' | 'usage'>): Promise<UsageView> {
    return (await this.agentCount(agent)).view;
  }

  /** The count and its view: the ledger the count left (undefined: it failed, the record's is shown). `look`: a status's (usage-ledger.ts). */
  async agentCount(agent: Pick<AgentRecord, 'name' | 'usage'>, look?: FileLook): Promise<{ view: UsageView; ledger: AgentUsageLedger | undefined }> {
    const ledger = await this.ledger.count(agent.name, undefined, look).catch(() => undefined);
    const counted = ledger ?? agent.usage;
    return { view: usageView(new Map(Object.entries(counted?.byModel ?? {})), this.prices), ledger };
  }
}

/** Usage of one agent and of the whole crew, as the meter reads it (status views, budgets, the usage record). */
export class CrewUsage {
  constructor(private readonly deps: { meter: Pick<UsageMeter, 'agentCount'> }) {}

  /** What tabcrew has counted for it (usage-ledger.ts), not what its transcripts hold now. */
  async usageOf(agent: AgentRecord): Promise<UsageView> {
    return (await this.deps.meter.agentCount(agent)).view;
  }

  /**
   * Every agent's usage and the crew's total, each agent counted once (at the same time: a
   * count is file reads, and 64 of them one after another would wait 64 times), with the
   * ledger each count left for callers that show the tokens too. `look`: a status's, whose
   * stats of the transcripts the counts share.
   */
  async crewUsage(
    state: State,
    look?: FileLook,
  ): Promise<{ agents: Map<string, UsageView>; ledgers: Map<string, AgentUsageLedger | undefined>; total: UsageView }> {
    const crew = state.agents.filter((a) => sessionOf(state, a));
    const counted = await Promise.all(crew.map((a) => this.deps.meter.agentCount(a, look)));
    const agents = new Map<string, UsageView>();
    const ledgers = new Map<string, AgentUsageLedger | undefined>();
    crew.forEach((a, i) => {
      agents.set(a.name, counted[i]!.view);
      ledgers.set(a.name, counted[i]!.ledger);
    });
    return { agents, ledgers, total: sumUsage([...agents.values()]) };
  }
}
