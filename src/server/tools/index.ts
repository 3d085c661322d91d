import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { ToolDeps } from '../tool-kit.js';
import { registerClearAgentConversation } from './clear-agent-conversation.js';
import { registerCreateAgent } from './create-agent.js';
import { registerCreateSession } from './create-session.js';
import { registerDecidePermission } from './decide-permission.js';
import { registerDeleteAgent } from './delete-agent.js';
import { registerDeleteSession } from './delete-session.js';
import { registerGetAgentOutput } from './get-agent-output.js';
import { registerGetSessionStatus } from './get-session-status.js';
import { registerListMessages } from './list-messages.js';
import { registerListPendingPermissions } from './list-pending-permissions.js';
import { registerListPendingRequests } from './list-pending-requests.js';
import { registerAnswerRequest } from './answer-request.js';
import { registerListSessions } from './list-sessions.js';
import { registerRecoverSession } from './recover-session.js';
import { registerResumeAgent } from './resume-agent.js';
import { registerWakeAgent } from './wake-agent.js';
import { registerSendMessageToAgent } from './send-message-to-agent.js';
import { registerStartNewAgentConversation } from './start-new-agent-conversation.js';
import { registerListRoles } from './list-roles.js';
import { registerCoordinateAgents } from './coordinate-agents.js';
import { registerGetCoordination } from './get-coordination.js';
import { registerCancelCoordination } from './cancel-coordination.js';
import { registerGetAgentChanges } from './get-agent-changes.js';
import { registerMergeAgentWork } from './merge-agent-work.js';
import { registerListMerges } from './list-merges.js';

export function registerTools(server: McpServer, deps: ToolDeps): void {
  for (const register of [
    registerCreateSession,
    registerListSessions,
    registerGetSessionStatus,
    registerDeleteSession,
    registerCreateAgent,
    registerDeleteAgent,
    registerSendMessageToAgent,
    registerGetAgentOutput,
    registerClearAgentConversation,
    registerStartNewAgentConversation,
    registerRecoverSession,
    registerListMessages,
    registerListRoles,
    registerCoordinateAgents,
    registerGetCoordination,
    registerCancelCoordination,
    registerListPendingPermissions,
    registerDecidePermission,
    registerListPendingRequests,
    registerAnswerRequest,
    registerResumeAgent,
    registerWakeAgent,
    registerGetAgentChanges,
    registerMergeAgentWork,
    registerListMerges,
  ]) {
    register(server, deps);
  }
}
