import type { Config } from '../config.js';
import { openStack } from './stack.js';
import { printJson, printTable } from './table.js';

/** `tabcrew sessions`: what the state holds; no look at the terminals. */
export async function sessionsCommand(config: Config, opts: { json: boolean }): Promise<number> {
  const stack = await openStack(config);
  try {
    const { sessions } = await stack.supervisor.listSessions();
    if (opts.json) {
      printJson({ sessions });
    } else if (!sessions.length) {
      process.stdout.write(`no sessions in ${config.stateDir} (an MCP client creates them with create_session)\n`);
    } else {
      printTable(
        ['SESSION', 'ID', 'AGENTS', 'ROOT'],
        sessions.map((s) => [s.name, s.session_id, s.agents.join(',') || '-', s.root]),
      );
    }
    return 0;
  } finally {
    await stack.close();
  }
}
