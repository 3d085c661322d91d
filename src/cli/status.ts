import type { Config } from '../config.js';
import type { SessionStatusView } from '../supervisor/supervisor.js';
import { openStack } from './stack.js';
import type { UsageView } from '../supervisor/usage.js';
import { ago, compact, printJson, printTable } from './table.js';

/** "$0.0123", "$1.20 + unpriced (model-x)", or "unpriced (model-x)": an unpriced model is never shown as $0. */
export function formatCost(u: UsageView): string {
  const unpriced = u.unpriced_models.length ? `unpriced (${u.unpriced_models.join(', ')})` : '';
  if (u.cost_usd === null) return unpriced;
  const usd = `$${u.cost_usd < 1 ? u.cost_usd.toFixed(4) : u.cost_usd.toFixed(2)}`;
  return unpriced ? `${usd} + ${unpriced}` : usd;
}

/**
 * `tabcrew status`: every agent's status from the state corrected by a live look at the
 * terminal (one tab listing per session), with tokens and the time of its last change.
 * Listing tabs on a tmux server that is not running answers "no tabs" without starting one.
 */
export async function statusCommand(config: Config, opts: { session?: string; json: boolean }): Promise<number> {
  const stack = await openStack(config);
  try {
    const refs =
      opts.session === undefined
        ? (await stack.supervisor.listSessions()).sessions.map((s) => s.session_id)
        : [(await stack.supervisor.sessionNames(opts.session)).id];
    const sessions: SessionStatusView[] = [];
    for (const ref of refs) sessions.push(await stack.supervisor.getSessionStatus(ref));
    if (opts.json) {
      printJson({ sessions });
      return 0;
    }
    if (!sessions.length) {
      process.stdout.write(`no sessions in ${config.stateDir} (an MCP client creates them with create_session)\n`);
      return 0;
    }
    const rows: string[][] = [];
    for (const s of sessions) {
      if (!s.agents.length) rows.push([s.name, '-', 'no agents', '-', '-', '-', '-', '-']);
      for (const a of s.agents) {
        const t = a.tokens;
        rows.push([
          s.name,
          a.agent,
          a.status_source === 'hook' ? a.status : `${a.status} (${a.status_source})`,
          ago(a.since),
          `${compact(t.input + t.cache_read + t.cache_creation)} in, ${compact(t.output)} out`,
          formatCost(a.usage),
          a.health.health === 'ok' ? 'ok' : `${a.health.health}: ${a.health.reason}`,
          a.tasks.open || a.tasks.done ? `${a.tasks.open} open, ${a.tasks.done} done` : '-',
        ]);
      }
    }
    printTable(['SESSION', 'AGENT', 'STATUS', 'SINCE', 'TOKENS', 'COST', 'HEALTH', 'TASKS'], rows);
    const crew = sessions[0]!.crew_usage;
    process.stdout.write(`crew: ${compact(crew.total_tokens)} tokens, ${formatCost(crew)}\n`);
    return 0;
  } finally {
    await stack.close();
  }
}
