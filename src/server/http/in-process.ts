import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { version } from '../../version.js';
import { createServer } from '../server.js';
import type { ToolDeps } from '../tool-kit.js';
import { depsFor } from './deps.js';

/**
 * An MCP client inside this process, connected to an McpServer built by the same createServer
 * as the stdio and HTTP ones: the dashboard and the REST mirror call the registered tools
 * through it, so every rule, confirmation and audit record of a tool applies to them too, and
 * a tool another part of tabcrew registers is reachable with no more server code.
 */
export class InProcessClient {
  private connecting?: Promise<Client>;
  private closeServer?: () => void;

  constructor(
    private readonly deps: ToolDeps,
    /** The caller the audit log names for calls made through this client. */
    private readonly caller: string,
    /** Where its calls are recorded: the server's audit log unless told otherwise. */
    private readonly audit: () => ToolDeps['audit'] = () => deps.audit,
  ) {}

  private client(): Promise<Client> {
    this.connecting ??= (async () => {
      const deps = depsFor(this.deps, () => this.caller, this.audit);
      const { server, close } = createServer(deps);
      this.closeServer = close;
      const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
      await server.connect(serverSide);
      const client = new Client({ name: this.caller, version });
      await client.connect(clientSide);
      return client;
    })();
    return this.connecting;
  }

  async callTool(name: string, args: Record<string, unknown>): Promise<CallToolResult> {
    const client = await this.client();
    // Long tools (create_agent, a reply awaited) report progress: the timeout restarts on each.
    return (await client.callTool({ name, arguments: args }, undefined, {
      timeout: 600_000,
      resetTimeoutOnProgress: true,
      onprogress: () => undefined,
    })) as CallToolResult;
  }

  async listTools(): Promise<Tool[]> {
    return (await (await this.client()).listTools()).tools;
  }

  async readResource(uri: string): Promise<string> {
    const r = await (await this.client()).readResource({ uri });
    const first = r.contents[0];
    return first && 'text' in first ? first.text : '';
  }

  async close(): Promise<void> {
    if (!this.connecting) return;
    const client = await this.connecting.catch(() => undefined);
    await client?.close().catch(() => undefined);
    this.closeServer?.();
  }
}
