import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packageRoot } from '../config.js';

/** The server name agents know tabcrew by: their tools are `mcp__tabcrew__<tool>`. */
export const AGENT_MCP_SERVER = 'tabcrew';
/** Permission rule allowing every tool of that server, so using one never opens a dialog. */
export const AGENT_MCP_ALLOW = `mcp__${AGENT_MCP_SERVER}`;

/**
 * The runtime dir's folder that every agent's sandbox shows (read-only): the supervisor's
 * socket and the boundaries file. A folder, not the two files, because both are replaced
 * while agents run (a server restart makes a new socket, a session change a new file), and
 * a sandbox that showed the files would keep showing the old ones.
 */
export function sharedRuntimeDir(runtimeDir: string): string {
  return join(runtimeDir, 'shared');
}

/** The supervisor's socket for agents; in the private runtime dir (0700), itself 0600. */
export function agentSocketPath(runtimeDir: string): string {
  return join(sharedRuntimeDir(runtimeDir), 'tabcrew.sock');
}

/** The agent's secret, in its runtime folder (0600): agent-mcp and the hook read it from there. */
export function agentSecretPath(agentDir: string): string {
  return join(agentDir, 'agent-secret');
}

/**
 * Writes the agent's secret (0600) and the MCP config that starts `tabcrew agent-mcp` for it,
 * and returns the config's path for `--mcp-config`. The secret travels by file: not in argv
 * (`ps`), not in the agent's environment (every command the agent runs would inherit it).
 * The config names only where the secret is.
 */
export async function writeAgentMcpConfig(agentDir: string, opts: { agent: string; secret: string; socket: string }): Promise<string> {
  const secretFile = agentSecretPath(agentDir);
  await writeFile(secretFile, opts.secret, { mode: 0o600 });
  const config = {
    mcpServers: {
      [AGENT_MCP_SERVER]: {
        type: 'stdio',
        command: process.execPath,
        // The CLI bundle from its V8 code cache answers tools/list in ~150 ms, sooner than
        // the same modules loaded one by one (~250 ms); one starts per agent.
        args: [join(packageRoot(), 'dist', 'cli.js'), 'agent-mcp'],
        env: { TABCREW_AGENT: opts.agent, TABCREW_AGENT_SOCKET: opts.socket, TABCREW_AGENT_SECRET_FILE: secretFile },
      },
    },
  };
  const file = join(agentDir, 'mcp.json');
  await writeFile(file, JSON.stringify(config, null, 2), { mode: 0o600 });
  return file;
}
