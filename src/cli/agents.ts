import type { Config } from '../config.js';
import { openStack } from './stack.js';
import { ago, printJson, printTable } from './table.js';

/**
 * `tabcrew agents`: agents as the state last recorded them. Reading the state alone keeps
 * it cheap and free of side effects; `tabcrew status` is the one that asks the terminal.
 */
export async function agentsCommand(config: Config, opts: { session?: string; json: boolean }): Promise<number> {
  const stack = await openStack(config);
  try {
    // Resolved first so an unknown session fails with the list of known ones.
    const only = opts.session === undefined ? undefined : (await stack.supervisor.sessionNames(opts.session)).id;
    const state = await stack.store.read();
    const sessionName = new Map(state.sessions.map((s) => [s.id, s.name]));
    const agents = state.agents
      .filter((a) => only === undefined || a.sessionId === only)
      .map((a) => ({
        agent: a.name,
        session_id: a.sessionId,
        session: sessionName.get(a.sessionId) ?? null,
        status: a.status,
        status_source: a.statusSource,
        since: a.since,
        claude_session_id: a.claudeSessionId,
        role: a.launch.role ?? null,
        model: a.launch.model ?? null,
        permission_mode: a.launch.permissionMode ?? null,
        tab: a.tab,
      }));
    if (opts.json) {
      printJson({ agents });
    } else if (!agents.length) {
      process.stdout.write(opts.session === undefined ? `no agents in ${config.stateDir}\n` : `no agents in session ${opts.session}\n`);
    } else {
      printTable(
        ['AGENT', 'SESSION', 'STATUS', 'SINCE', 'MODEL', 'CONVERSATION'],
        agents.map((a) => [a.agent, a.session, a.status, ago(a.since), a.model, a.claude_session_id]),
      );
    }
    return 0;
  } finally {
    await stack.close();
  }
}
