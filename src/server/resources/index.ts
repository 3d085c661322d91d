import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { agentChanges } from './agent-changes.js';
import { agentScreen } from './agent-screen.js';
import { agentTranscript } from './agent-transcript.js';
import { register, reader, type SupervisorRef } from './kit.js';
import { sessionStatus } from './session-status.js';
import { sessionTodo } from './session-todo.js';
import { pendingPermissions } from './pending-permissions.js';
import { pendingRequests } from './pending-requests.js';

const KINDS = [agentScreen, agentTranscript, agentChanges, sessionTodo, sessionStatus, pendingPermissions, pendingRequests];

/** Registers every resource; returns a reader the subscription monitor uses. */
export function registerResources(server: McpServer, ref: SupervisorRef): (uri: string) => Promise<string> {
  for (const kind of KINDS) register(server, ref, kind);
  return reader(ref, KINDS);
}
