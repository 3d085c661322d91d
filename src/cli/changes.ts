import type { Config } from '../config.js';
import type { AgentChanges } from '../supervisor/review/changes.js';
import { sanitizeForTerminal } from '../terminals/sanitize.js';
import { openStack } from './stack.js';
import { printJson, printTable } from './table.js';

/*
 * `tabcrew changes`: what each agent changed (get_agent_changes), one session or all of them,
 * one agent with --agent; --patch adds the diffs. File names and diffs are the agents'
 * writing: nothing of them reaches the terminal unsanitized.
 */

type Row = AgentChanges | { agent: string; error: string };

const plusMinus = (c: AgentChanges) => {
  const sum = (k: 'added' | 'removed') => c.files.reduce((n, f) => n + (f[k] ?? 0), 0);
  return `+${sum('added')} -${sum('removed')}`;
};

export async function changesCommand(config: Config, opts: { session?: string; agent?: string; patch: boolean; json: boolean }): Promise<number> {
  const stack = await openStack(config);
  try {
    const review = stack.supervisor.review;
    const o = { patch: opts.patch };
    let rows: Row[];
    if (opts.agent !== undefined) rows = [await review.changes(opts.agent, o)];
    else {
      const state = await stack.store.read();
      const sessions = opts.session === undefined ? state.sessions.map((s) => s.id) : [opts.session];
      rows = [];
      for (const s of sessions) rows.push(...(await review.sessionChanges(s, o)).agents);
    }
    if (opts.json) {
      printJson({ agents: rows });
      return 0;
    }
    if (!rows.length) {
      process.stdout.write('no agents\n');
      return 0;
    }
    const t = (s: string) => sanitizeForTerminal(s);
    printTable(
      ['AGENT', 'BRANCH', 'BASE', 'AHEAD', 'BEHIND', 'FILES', '+/-', 'UNCOMMITTED'],
      rows.map((r) =>
        'error' in r
          ? [r.agent, t(r.error), '', '', '', '', '', '']
          : [
              r.agent,
              r.branch ?? '(shares the root; by hooks)',
              r.base_branch ?? r.base_commit.slice(0, 12),
              r.commits_ahead ?? '',
              r.commits_behind ?? '',
              r.files.length,
              plusMinus(r),
              r.uncommitted.length,
            ],
      ),
    );
    for (const r of rows) {
      if ('error' in r || !r.files.length) continue;
      process.stdout.write(`\n${r.agent}:\n`);
      for (const f of r.files) {
        const counts = f.added === null ? 'binary or new' : `+${f.added} -${f.removed}`;
        process.stdout.write(`  ${f.status.padEnd(9)} ${t(f.path)}  ${counts}${f.committed ? '' : '  (uncommitted)'}\n`);
      }
      if (r.patch)
        process.stdout.write(`\n${t(r.patch)}${r.truncated ? '\n(patch cut short; get_agent_changes with a larger max_bytes or a path shows more)\n' : ''}`);
    }
    return 0;
  } finally {
    await stack.close();
  }
}
