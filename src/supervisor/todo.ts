import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface TodoSummary {
  path: string;
  open: number;
  done: number;
  /** Per agent named in an item (`Agent_N`): its open and done items. */
  byAgent: Map<string, { open: number; done: number }>;
}

const ITEM = /^\s*[-*+]\s+\[( |x|X)\]\s+(.*)$/;
const AGENT = /\bAgent_[1-9][0-9]*\b/g;

export function parseTodo(text: string, path: string): TodoSummary {
  const summary: TodoSummary = { path, open: 0, done: 0, byAgent: new Map() };
  for (const line of text.split(/\r?\n/)) {
    const m = ITEM.exec(line);
    if (!m) continue;
    const done = m[1] !== ' ';
    if (done) summary.done++;
    else summary.open++;
    for (const agent of new Set(m[2].match(AGENT) ?? [])) {
      const counts = summary.byAgent.get(agent) ?? { open: 0, done: 0 };
      if (done) counts.done++;
      else counts.open++;
      summary.byAgent.set(agent, counts);
    }
  }
  return summary;
}

/** TODO.md at the session root, or null when there is none. */
export async function readTodo(root: string): Promise<TodoSummary | null> {
  const path = join(root, 'TODO.md');
  try {
    return parseTodo(await readFile(path, 'utf8'), path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}
