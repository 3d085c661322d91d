import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { needsConfirmation } from '../supervisor/policy.js';
import { UserError } from '../supervisor/errors.js';
import type { ToolDeps } from './tool-kit.js';

/**
 * At security level HIGH a HIGH-risk tool runs only once a person agreed: through MCP
 * elicitation when the client can ask them, otherwise by the caller repeating the
 * target's name in `confirm` (a model cannot do that by accident).
 */
export async function confirmIfNeeded(
  server: McpServer,
  deps: ToolDeps,
  req: { tool: string; target: string; accepted: string[]; confirm?: string },
): Promise<void> {
  if (!needsConfirmation(req.tool, deps.supervisor.securityLevel)) return;
  if (server.server.getClientCapabilities()?.elicitation) {
    const answer = await server.server.elicitInput({
      mode: 'form',
      message: `tabcrew runs at security level HIGH. Allow ${req.tool} on ${req.target}?`,
      requestedSchema: {
        type: 'object',
        properties: { confirm: { type: 'boolean', title: `Allow ${req.tool} on ${req.target}` } },
        required: ['confirm'],
      },
    });
    if (answer.action === 'accept' && answer.content?.confirm === true) {
      deps.log.info('confirmed by elicitation', { tool: req.tool, target: req.target });
      return;
    }
    throw new UserError(
      `${req.tool} on ${req.target} was not confirmed (the person chose ${answer.action === 'accept' ? 'not to allow it' : answer.action}); nothing was done.`,
    );
  }
  // What to repeat is the first accepted form: the target's name, or for a permission request
  // (whose target shows the whole command) its id.
  const expected = req.accepted[0] ?? req.target;
  if (req.confirm === undefined) {
    throw new UserError(
      `At security level HIGH, ${req.tool} needs confirmation and this client cannot ask the person: call it again with confirm: "${expected}". Nothing was done.`,
    );
  }
  if (!req.accepted.includes(req.confirm)) {
    throw new UserError(`confirm "${req.confirm}" does not match the target "${expected}"; nothing was done.`);
  }
}

/**
 * Deleting an agent that spawned helpers takes them with it: a client that can ask the
 * person does (yes → cascade); one that cannot gets the refusal that names cascade: true.
 * Resolves whether to cascade.
 */
export async function askToCascade(server: McpServer, deps: ToolDeps, agent: string, helpers: string[]): Promise<boolean> {
  if (!helpers.length || !server.server.getClientCapabilities()?.elicitation) return false;
  const answer = await server.server.elicitInput({
    mode: 'form',
    message: `${agent} has helpers of its own (${helpers.join(', ')}). Delete them together with ${agent}?`,
    requestedSchema: {
      type: 'object',
      properties: { cascade: { type: 'boolean', title: `Also delete ${helpers.join(', ')}` } },
      required: ['cascade'],
    },
  });
  if (answer.action === 'accept' && answer.content?.cascade === true) {
    deps.log.info('cascade confirmed by elicitation', { tool: 'delete_agent', target: agent });
    return true;
  }
  throw new UserError(
    `${agent} was not deleted: the person chose ${answer.action === 'accept' ? 'to keep its helpers' : answer.action} (${helpers.join(', ')}). Delete the helpers first, or pass cascade: true.`,
  );
}
