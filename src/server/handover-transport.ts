import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { Readable, Writable } from 'node:stream';
import { isDeepStrictEqual } from 'node:util';

/**
 * What dist/cli.js hands the full server after answering the handshake itself
 * (scripts/cli-entry.mjs): stdin from its first byte (everything the entry read, then the
 * rest), and the requests it already answered, by id, with the result it sent.
 */
export interface Handover {
  input: Readable;
  answered: Map<string | number, { method: string; result: string }>;
}

/**
 * The stdio transport of a server that takes over from the entry's fast handshake. The
 * server reads the client's messages from the first one, so it is initialized exactly as if
 * it had answered itself; its own answers to the requests the entry answered are not sent
 * again (a client must see one answer per id), but compared: a tool list that differs is
 * corrected with notifications/tools/list_changed, so a client is never left with a stale list.
 */
export class HandoverTransport extends StdioServerTransport {
  /** Requests answered by the entry whose answer differed from the server's. */
  readonly mismatches: string[] = [];

  constructor(
    private readonly handover: Handover,
    private readonly warn: (message: string) => void,
    stdout: Writable = process.stdout,
  ) {
    super(handover.input, stdout);
  }

  override async send(message: JSONRPCMessage): Promise<void> {
    const id = 'id' in message && !('method' in message) ? message.id : undefined;
    if (id !== undefined && this.handover.answered.has(id)) {
      const { method, result } = this.handover.answered.get(id)!;
      this.handover.answered.delete(id);
      // As the client saw them: through JSON (fields left undefined are not sent).
      if ('result' in message && isDeepStrictEqual(JSON.parse(JSON.stringify(message.result)), JSON.parse(result))) return;
      this.mismatches.push(method);
      this.warn(
        `the fast handshake's answer to ${method} differs from the server's (a build out of date?); ${method === 'tools/list' ? 'the client is told the tool list changed' : 'the server keeps its own state'}`,
      );
      if (method === 'tools/list') return super.send({ jsonrpc: '2.0', method: 'notifications/tools/list_changed' });
      return;
    }
    return super.send(message);
  }
}
