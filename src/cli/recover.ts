import type { Config } from '../config.js';
import { openStack } from './stack.js';

/** `tabcrew recover`: prints what was done; exits 1 when an agent could not be brought back. */
export async function recoverCommand(config: Config, opts: { session?: string; dryRun: boolean; json: boolean }): Promise<number> {
  const stack = await openStack(config);
  try {
    const report = await stack.supervisor.recover({ session: opts.session, dry_run: opts.dryRun });
    if (opts.json) {
      process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    } else {
      const rows: string[][] = [['AGENT', 'OUTCOME', 'DETAIL']];
      for (const a of report.adopted) rows.push([a, 'adopted', 'tab alive']);
      for (const r of report.recovered) rows.push([r.agent, r.action.replace('_', ' '), `${r.status}, conversation ${r.claude_session_id}`]);
      for (const f of report.failed) rows.push([f.agent, 'failed', f.reason]);
      for (const o of report.orphans) rows.push(['-', 'orphan tab', `${o.tab} ${o.title} (${o.tag})`]);
      if (rows.length === 1) rows.push(['-', 'nothing to do', 'no agents']);
      const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
      for (const r of rows) process.stdout.write(r.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c)).join('  ') + '\n');
      if (opts.dryRun) process.stdout.write('(dry run: nothing was changed)\n');
    }
    return report.failed.length ? 1 : 0;
  } finally {
    await stack.close();
  }
}
