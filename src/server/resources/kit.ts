import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { UriTemplate } from '@modelcontextprotocol/sdk/shared/uriTemplate.js';
import type { Supervisor } from '../../supervisor/supervisor.js';

/** A resource family: a URI template, how to list its members, and how to read one. */
export interface ResourceKind {
  name: string;
  template: string;
  title: string;
  description: string;
  mimeType: string;
  list(supervisor: Supervisor): Promise<{ uri: string; name: string }[]>;
  read(supervisor: Supervisor, vars: Record<string, string>): Promise<string>;
}

/** The supervisor, once the state is open (see ToolDeps.ready). */
export interface SupervisorRef {
  ready?: Promise<void>;
  supervisor: Supervisor;
}

export function register(server: McpServer, ref: SupervisorRef, kind: ResourceKind): void {
  server.registerResource(
    kind.name,
    new ResourceTemplate(kind.template, {
      list: async () => {
        await ref.ready;
        return { resources: await kind.list(ref.supervisor) };
      },
    }),
    { title: kind.title, description: kind.description, mimeType: kind.mimeType },
    async (uri, vars) => {
      await ref.ready;
      return { contents: [{ uri: uri.href, mimeType: kind.mimeType, text: await kind.read(ref.supervisor, flat(vars)) }] };
    },
  );
}

function flat(vars: Record<string, string | string[]>): Record<string, string> {
  return Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, Array.isArray(v) ? v[0] : v]));
}

/** Reads any tabcrew resource by URI (the subscription monitor re-reads what it watches). */
export function reader(ref: SupervisorRef, kinds: ResourceKind[]): (uri: string) => Promise<string> {
  const templates = kinds.map((k) => ({ kind: k, t: new UriTemplate(k.template) }));
  return async (uri) => {
    await ref.ready;
    for (const { kind, t } of templates) {
      const vars = t.match(uri);
      if (vars) return kind.read(ref.supervisor, flat(vars));
    }
    throw new Error(`unknown resource ${uri}`);
  };
}
