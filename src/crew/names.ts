/*
 * Agent names across the crew. Every tabcrew names its agents Agent_1, Agent_2, …, so two
 * nodes both have an Agent_1: the front shows a node's agents as `node/Agent_N` and strips
 * the prefix again on the way in. Local agents keep their plain names. This works on any
 * tool's arguments and results by key, so tools added later need nothing here.
 */

/** Keys whose string values (or arrays of strings) are agent names. */
const AGENT_KEY = /^(agent|agents|from|to|sender|recipient|parent|child|children|owner|claimed_by|members|[a-z_]+_agents?)$/;

export function isAgentKey(key: string): boolean {
  return AGENT_KEY.test(key);
}

/**
 * Always prefixed, even a name that already holds a `/`: a node that calls an agent
 * `local/Agent_1` or `box2/Agent_1` is shown as `box1/local/Agent_1`, never as another
 * place's agent. Stripping the prefix gives the node its own name back.
 */
export function qualify(node: string, name: string): string {
  return `${node}/${name}`;
}

/** `box1/Agent_3` → { node: 'box1', name: 'Agent_3' }; a plain name has no node. */
export function splitAgent(value: string): { node?: string; name: string } {
  const slash = value.indexOf('/');
  return slash > 0 ? { node: value.slice(0, slash), name: value.slice(slash + 1) } : { name: value };
}

/** A node's result as the front shows it: agent names carry the node. */
export function qualifyResult(node: string, value: unknown, key = ''): unknown {
  if (typeof value === 'string') return isAgentKey(key) ? qualify(node, value) : value;
  if (Array.isArray(value)) return value.map((v) => qualifyResult(node, v, key));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, qualifyResult(node, v, k)]));
  }
  return value;
}

/** The arguments as the node itself understands them: its own agents' plain names. */
export function stripNode(node: string, value: unknown, key = ''): unknown {
  if (typeof value === 'string') {
    if (!isAgentKey(key)) return value;
    const s = splitAgent(value);
    return s.node === node ? s.name : value;
  }
  if (Array.isArray(value)) return value.map((v) => stripNode(node, v, key));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, stripNode(node, v, k)]));
  }
  return value;
}
