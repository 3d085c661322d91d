import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { AGENT_METHODS, type AgentMethod } from '../server/agent-socket/protocol.js';

export interface AgentToolDeps {
  /** This agent's call to the supervisor; rejects with a message for the model. */
  call(method: string, params: Record<string, unknown>): Promise<Record<string, unknown>>;
}

export type RegisterAgentTool = (server: McpServer, deps: AgentToolDeps) => void;

/** The input shape of a method, as protocol.ts declares it: the supervisor checks the same schema again. */
export function inputOf<M extends AgentMethod>(method: M): (typeof AGENT_METHODS)[M]['shape'] {
  return AGENT_METHODS[method].shape;
}

/** Relays a call; a refusal becomes an `isError` result whose text says what to do. */
export async function relay(deps: AgentToolDeps, method: AgentMethod, params: Record<string, unknown>): Promise<CallToolResult> {
  try {
    const result = await deps.call(method, params);
    return { content: [{ type: 'text', text: JSON.stringify(result, null, 2) }], structuredContent: result };
  } catch (e) {
    return { content: [{ type: 'text', text: (e as Error).message }], isError: true };
  }
}

export const WRITES = { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false } as const;
export const READS = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false } as const;
