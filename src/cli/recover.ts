import type { Config } from '../config.js';
import { openStack } from './stack.js';
import { printJson, printTable } from './table.js';

/** `tabcrew recover`: prints what was done; exits 1 when an agent could not be brought back. */
export async function recoverCommand(config: Config, opts: { session?: string; dryRun: boolean; closeOrphans?: boolean; json: boolean }): Promise<number> {
  const stack = await openStack(config);
  try {
    const report = await stack.supervisor.recover({ session: opts.session, dry_run: opts.dryRun, close_orphans: !!opts.closeOrphans });
    if (opts.json) {
      printJson(report);
    } else {
      const rows: string[][] = [];
      for (const a of report.adopted) rows.push([a, 'adopted', 'tab alive']);
      for (const r of report.recovered) rows.push([r.agent, r.action.replace('_', ' '), `${r.status}, conversation ${r.claude_session_id}`]);
      for (const f of report.failed) rows.push([f.agent, 'failed', f.reason]);
      for (const k of report.skipped ?? []) rows.push([k.agent, 'skipped', k.reason]);
      for (const o of report.orphans) {
        const closed = report.closed_orphans?.includes(o.tab);
        rows.push(['-', closed ? 'orphan tab closed' : 'orphan tab', `${o.tab} ${o.title} (${o.tag}): ${closed ? o.why.replace('_', ' ') : o.fix}`]);
      }
      if (!rows.length) rows.push(['-', 'nothing to do', 'no agents']);
      printTable(['AGENT', 'OUTCOME', 'DETAIL'], rows);
      if (opts.dryRun) process.stdout.write('(dry run: nothing was changed)\n');
    }
    return report.failed.length ? 1 : 0;
  } finally {
    await stack.close();
  }
}
