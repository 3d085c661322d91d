import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { AgentToolDeps } from '../tool-kit.js';
import { registerAddTask } from './add-task.js';
import { registerCancelCoordination } from './cancel-coordination.js';
import { registerCoordinateAgents } from './coordinate-agents.js';
import { registerGetCoordination } from './get-coordination.js';
import { registerSpawnAgent } from './spawn-agent.js';
import { registerCheckMessages } from './check-messages.js';
import { registerClaimTask } from './claim-task.js';
import { registerCompleteTask } from './complete-task.js';
import { registerListPeers } from './list-peers.js';
import { registerSendMessage } from './send-message.js';
import { registerUpdateMyStatus } from './update-my-status.js';

/** The tools every agent gets as `mcp__tabcrew__<name>`; one file each. */
export function registerAgentTools(server: McpServer, deps: AgentToolDeps): void {
  for (const register of [
    registerSendMessage,
    registerCheckMessages,
    registerListPeers,
    registerUpdateMyStatus,
    registerClaimTask,
    registerCompleteTask,
    registerAddTask,
    registerSpawnAgent,
    registerCoordinateAgents,
    registerGetCoordination,
    registerCancelCoordination,
  ]) {
    register(server, deps);
  }
}
