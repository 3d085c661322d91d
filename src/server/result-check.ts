import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';

/**
 * The server sends its tools' results as they made them, without parsing each against its
 * output schema again. A tool builds its result to the schema it declares; the schema is
 * listed (tools/list) for the client, which is the one to check it: the MCP SDK's Client does
 * once it has listed the tools, and every test client lists them (test/support/tabcrew.ts), so
 * the tests still check every answer against the one schema. The SDK's McpServer re-parsed
 * every result with zod, which copies it: 2 MB of garbage for each get_session_status of 64
 * agents, a third of all that call allocated (docs/performance.md, "Memory of the server").
 *
 * `validateToolOutput` is the SDK's private step; with an SDK that has none (renamed), results
 * are re-parsed as before, and test/server/result-check.test.ts says so.
 */
export function sendResultsUnparsed(server: McpServer): void {
  const sdk = server as unknown as { validateToolOutput?: unknown };
  if (typeof sdk.validateToolOutput === 'function') sdk.validateToolOutput = async (): Promise<void> => undefined;
}
