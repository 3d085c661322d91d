import type { Config } from '../config.js';
import { openStack } from './stack.js';
import { ago, printJson, printTable } from './table.js';

/** `tabcrew runs [--session S]`: coordination runs in the state, newest first. */
export async function runsCommand(config: Config, opts: { session?: string; json: boolean }): Promise<number> {
  const stack = await openStack(config);
  try {
    const { runs } = await stack.supervisor.listRuns({ session: opts.session });
    if (opts.json) {
      printJson({ runs });
    } else if (!runs.length) {
      process.stdout.write(opts.session === undefined ? `no coordination runs in ${config.stateDir}\n` : `no coordination runs in session ${opts.session}\n`);
    } else {
      printTable(
        ['RUN', 'MODE', 'STATE', 'STARTED', 'PROGRESS', 'AGENTS', 'SUMMARY'],
        runs.map((r) => [r.run_id, r.mode, r.state, ago(r.created_at), `${r.progress.done}/${r.progress.total}`, r.agents.join(','), r.summary]),
      );
    }
    return 0;
  } finally {
    await stack.close();
  }
}

/** `tabcrew runs show RUN`: one run with every agent's result. */
export async function runShowCommand(config: Config, opts: { run: string; json: boolean }): Promise<number> {
  const stack = await openStack(config);
  try {
    const run = await stack.supervisor.getCoordination(opts.run);
    if (opts.json) {
      printJson(run);
      return 0;
    }
    process.stdout.write(`run ${run.run_id}: ${run.mode}, ${run.state}, started ${ago(run.created_at)}${run.ended_at ? `, ended ${ago(run.ended_at)}` : ''}\n`);
    if (run.summary) process.stdout.write(`${run.summary}\n`);
    process.stdout.write('\n');
    const oneLine = (t: string | undefined): string | undefined => (t === undefined ? undefined : t.replace(/\s+/g, ' ').slice(0, 100));
    printTable(
      ['AGENT', 'STATUS', 'SECONDS', 'OUT TOKENS', 'REPLY'],
      run.results.map((r) => [r.agent, r.status, (r.ms / 1000).toFixed(1), r.tokens.output, oneLine(r.error ?? r.reply)]),
    );
    if (run.consensus) {
      process.stdout.write('\n');
      printTable(
        ['VOTER', 'VOTE'],
        run.consensus.votes.map((v) => [v.agent, v.vote ?? v.reason ?? v.status]),
      );
    }
    return 0;
  } catch (e) {
    process.stderr.write(`tabcrew: ${(e as Error).message}\n`);
    return 1;
  } finally {
    await stack.close();
  }
}
