import type { AgentDesk, VerifiedAgent } from '../../supervisor/agent-desk.js';
import type { Supervisor } from '../../supervisor/supervisor.js';
import type { AgentMethod, AgentParams } from './protocol.js';

type Handlers = { [M in AgentMethod]: (desk: AgentDesk, caller: VerifiedAgent, params: AgentParams<M>, supervisor: Supervisor) => Promise<object> };

/**
 * Each agent method mapped to the supervisor, for an already verified caller: an agent's call
 * is one more caller of the supervisor, under the same rules and audit as the MCP client's.
 * A new agent tool adds its schema to protocol.ts and one line here.
 */
export const AGENT_HANDLERS: Handlers = {
  send_message: (desk, caller, p) => desk.sendMessage(caller, p),
  check_messages: (desk, caller) => desk.checkMessages(caller),
  list_peers: (desk, caller) => desk.listPeers(caller),
  update_my_status: (desk, caller, p) => desk.updateStatus(caller, p),
  claim_task: (desk, caller, p) => desk.claimTask(caller, p.task),
  complete_task: (desk, caller, p) => desk.completeTask(caller, p.task, p.note),
  add_task: (desk, caller, p) => desk.addTask(caller, p.text),
  // Helpers of its own: in the caller's session, recorded as its children, within --max-children/--max-depth.
  spawn_agent: (_desk, caller, p, s) => s.spawnAgent(p, { caller: { agent: caller.agent } }),
  // An agent's run never holds its turn (nor this socket) for minutes: it returns at once, get_coordination reads it.
  coordinate_agents: (_desk, caller, p, s) => s.coordinate({ ...p, wait: false }, { caller: { agent: caller.agent } }),
  get_coordination: (_desk, caller, p, s) => s.getCoordination(p.run_id, { caller: { agent: caller.agent } }),
  cancel_coordination: (_desk, caller, p, s) => s.cancelCoordination(p.run_id, { interrupt: p.interrupt, caller: { agent: caller.agent } }),
  // Its own usage only; the answer says nothing the agent could not count itself.
  count_usage: async (_desk, caller, p, s) => ((await s.countUsage(caller.agent, p.tool_use_id)) ? { counted: true } : { counted: false }),
  // Its own call only: the verdict the hook program would print, from the agent's record, not from the caller.
  pre_tool_use: (_desk, caller, p, s) => s.preToolUse(caller, p),
};
