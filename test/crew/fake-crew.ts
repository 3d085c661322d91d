import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { NodeLink } from '../../src/crew/node-link.js';
import type { LocalPlaces } from '../../src/crew/router.js';

/** A node that answers from a script: what the router forwards is what it sees. */
export function fakeNode(name: string, answer: (tool: string, args: Record<string, unknown>) => Record<string, unknown> | Error) {
  const calls: { tool: string; args: Record<string, unknown> }[] = [];
  const link = {
    name,
    calls,
    state: 'up',
    report: () => ({ node: name, state: 'up', url: `ssh://${name}`, since: '', fix: 'start it' }),
    listResources: async () => [{ uri: 'tabcrew://agents/Agent_2/screen', name: 'Agent_2 screen' }],
    readResource: async (uri: string) => [{ uri, mimeType: 'text/plain', text: `screen of ${uri} on ${name}` }],
    async call(tool: string, args: Record<string, unknown>): Promise<CallToolResult> {
      calls.push({ tool, args });
      const a = answer(tool, args);
      if (a instanceof Error) throw a;
      return { content: [{ type: 'text', text: JSON.stringify(a) }], structuredContent: a };
    },
  };
  return link as unknown as NodeLink & { calls: typeof calls };
}

/** A node that is up but never answers a call: the red-team's silent node. */
export function silentNode(name: string) {
  const link = fakeNode(name, () => ({}));
  (link as unknown as { call: () => Promise<CallToolResult> }).call = () => new Promise<CallToolResult>(() => undefined);
  (link as unknown as { listResources: () => Promise<unknown[]> }).listResources = () => new Promise<unknown[]>(() => undefined);
  return link;
}

/** The local machine with these sessions, runs and permission requests. */
export function localWith(held: { sessions?: { id: string; name: string }[]; runs?: string[]; requests?: string[] } = {}): LocalPlaces {
  const sessions = held.sessions ?? [];
  return {
    session: async (ref) => (sessions.some((s) => s.id === ref) ? 'id' : sessions.some((s) => s.name === ref) ? 'name' : undefined),
    sessionIds: async () => new Set(sessions.map((s) => s.id)),
    holds: async (kind, id) => (kind === 'run' ? (held.runs ?? []) : (held.requests ?? [])).includes(id),
  };
}
