import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { socketCaller, type AgentIdentity } from './client.js';
import type { AgentToolDeps } from './tool-kit.js';
import { registerAgentTools } from './tools/index.js';

const INSTRUCTIONS = `tabcrew's tools for one agent of a crew. send_message {to, message} reaches another agent of your session (or "all"); the recipient sees you as the sender.
Messages to you arrive in your prompt with a header "[ADDER+ from <sender> …]"; check_messages returns those still queued.
Claim TODO.md items with claim_task before working on them (atomic), tick them with complete_task, add new ones with add_task.`;

/** The agent's identity from its MCP config (claude/agent-mcp-config.ts); a message saying what is missing otherwise. */
export function identityFromEnv(env: NodeJS.ProcessEnv): AgentIdentity {
  const agent = env.TABCREW_AGENT;
  const socket = env.TABCREW_AGENT_SOCKET;
  const secretFile = env.TABCREW_AGENT_SECRET_FILE;
  if (!agent || !socket || !secretFile) {
    throw new Error('tabcrew agent-mcp runs inside an agent tabcrew launched: TABCREW_AGENT, TABCREW_AGENT_SOCKET and TABCREW_AGENT_SECRET_FILE must be set.');
  }
  return { agent, socket, secretFile };
}

export function createAgentServer(deps: AgentToolDeps, version = '0'): McpServer {
  const server = new McpServer({ name: 'tabcrew-agent', version }, { instructions: INSTRUCTIONS });
  registerAgentTools(server, deps);
  return server;
}

/** `tabcrew agent-mcp`: the stdio MCP server of one agent, speaking for it alone. Stdout is MCP only. */
export async function runAgentMcp(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const server = createAgentServer({ call: socketCaller(identityFromEnv(env)) });
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
    process.stdin.on('end', () => resolve());
  });
  await server.connect(transport);
  await closed;
}
