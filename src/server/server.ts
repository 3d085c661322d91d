import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { version } from '../version.js';
import type { ToolDeps } from './tool-kit.js';
import { registerTools } from './tools/index.js';
import { registerResources } from './resources/index.js';
import { Subscriptions } from './subscriptions.js';
import { sendResultsUnparsed } from './result-check.js';

const INSTRUCTIONS = `tabcrew supervises Claude Code agents, each in its own terminal tab.
Typical flow: create_session {root} on a codebase → create_agent {session} (once per agent; it returns when the agent is ready) → send_message_to_agent {agent, message} to hand out work (wait_for_reply: true to get the answer) → get_session_status {session} to watch → delete_session when done.
Agents are named Agent_1, Agent_2, …; they share tasks through TODO.md at the session root.
A delivery reported "unknown" was typed but not confirmed: read get_agent_output before sending again.
Resources: tabcrew://agents/{agent}/screen, tabcrew://agents/{agent}/transcript, tabcrew://sessions/{session}/todo and tabcrew://sessions/{session}/status (subscribe to hear about changes); agent status changes also arrive as log messages (logger "tabcrew.status"), and an agent that needs a person (paused by its budget, stuck, crashed) as a warning (logger "tabcrew.attention") saying what to do; resume_agent lifts a budget pause.
Requests: an agent waiting for a person — permission to run a tool, an answer to its question, approval of its plan — arrives as a log message (logger "tabcrew.permissions" for a permission, "tabcrew.requests" for a question or plan) and in tabcrew://requests/pending; list_pending_requests lists them and answer_request {request_id, …} answers (decision allow/deny; choose or text; approve or reject with message). decide_permission {request_id, decision} and list_pending_permissions still serve permissions.`;

export function createServer(deps: ToolDeps): { server: McpServer; close(): void } {
  const server = new McpServer({ name: 'tabcrew', version }, { instructions: INSTRUCTIONS, capabilities: { logging: {} } });
  sendResultsUnparsed(server);
  // Not a copy ({ ...deps }): that would read the supervisor getter before the state is open.
  deps.clientName ??= () => server.server.getClientVersion()?.name;
  deps.routeTools?.(server, deps);
  registerTools(server, deps);
  const readLocal = registerResources(server, deps);
  const subscriptions = new Subscriptions(server, (uri) => deps.routeResource?.(uri) ?? readLocal(uri), deps.log);
  subscriptions.install();
  // Status changes reach the client as MCP log messages, and wake resource subscribers.
  let unlisten = (): void => undefined;
  let unlistenPermissions = (): void => undefined;
  let unlistenNotices = (): void => undefined;
  let unlistenOverlaps = (): void => undefined;
  void (deps.ready ?? Promise.resolve()).then(
    () => {
      unlisten = deps.supervisor.onStatusChange((change) => {
        if (server.isConnected()) {
          void server.sendLoggingMessage({ level: 'info', logger: 'tabcrew.status', data: change }).catch(() => undefined);
        }
        subscriptions.nudge();
      });
      // An agent waits for an answer: the client hears it as a log message and a resource update.
      unlistenPermissions = deps.supervisor.onPermissionRequest((request) => {
        if (server.isConnected()) {
          void server
            .sendLoggingMessage({
              level: 'warning',
              logger: request.kind === 'permission' ? 'tabcrew.permissions' : 'tabcrew.requests',
              data: { ...request, answer_with: request.kind === 'permission' ? 'decide_permission' : 'answer_request' },
            })
            .catch(() => undefined);
        }
        subscriptions.nudge();
      });
      // An agent that needs a person (paused, stuck, crashed…): what happened and what to do.
      unlistenNotices = deps.supervisor.onNotice((notice) => {
        if (server.isConnected()) {
          void server.sendLoggingMessage({ level: 'warning', logger: 'tabcrew.attention', data: notice }).catch(() => undefined);
        }
        subscriptions.nudge();
      });
      // Two agents of a session changed the same path (supervisor/review/overlaps.ts).
      // (A front's stand-in supervisor in tests may have no review wing.)
      unlistenOverlaps =
        (deps.supervisor.review as typeof deps.supervisor.review | undefined)?.onOverlap((overlap) => {
          if (server.isConnected()) {
            void server.sendLoggingMessage({ level: 'warning', logger: 'tabcrew.overlap', data: overlap }).catch(() => undefined);
          }
          subscriptions.nudge();
        }) ?? unlistenOverlaps;
    },
    () => undefined,
  );
  return {
    server,
    close() {
      unlisten();
      unlistenPermissions();
      unlistenNotices();
      unlistenOverlaps();
      subscriptions.stop();
    },
  };
}
