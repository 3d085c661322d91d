import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import writeFileAtomic from 'write-file-atomic';
import { UserError } from './errors.js';
import { KeyedMutex } from './timing.js';

export interface TodoSummary {
  path: string;
  open: number;
  done: number;
  /** Per agent that claimed an item (`(Agent_N)` at its end): its open and done items. */
  byAgent: Map<string, { open: number; done: number }>;
}

const ITEM = /^\s*[-*+]\s+\[( |x|X)\]\s+(.*)$/;
const AGENT = /\bAgent_[1-9][0-9]*\b/g;
// A claim is what claim_task writes: agent names in parentheses at the very end of an item,
// "(Agent_2)" (or "(Agent_1, Agent_2)"). A name anywhere else in the text ("review Agent_2's
// patch") is not a claim, and add_task refuses a text that ends like one, so no task text an
// agent adds can make an item another agent's.
const CLAIM_AT_END = /\((Agent_[1-9][0-9]{0,5}(?:[ \t]{0,4},[ \t]{0,4}Agent_[1-9][0-9]{0,5}){0,20})\)$/;

/** An item's text split into the task and the agents whose claims end it. */
export function splitClaims(text: string): { task: string; owners: string[] } {
  let task = text.trimEnd();
  const owners: string[] = [];
  for (let i = 0; i < 50; i++) {
    const m = CLAIM_AT_END.exec(task);
    if (!m) break;
    owners.unshift(...(m[1].match(AGENT) ?? []));
    task = task.slice(0, m.index).trimEnd();
  }
  return { task, owners: [...new Set(owners)] };
}

export function parseTodo(text: string, path: string): TodoSummary {
  const summary: TodoSummary = { path, open: 0, done: 0, byAgent: new Map() };
  for (const line of text.split(/\r?\n/)) {
    const m = ITEM.exec(line);
    if (!m) continue;
    const done = m[1] !== ' ';
    if (done) summary.done++;
    else summary.open++;
    for (const agent of splitClaims(m[2]).owners) {
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

// ---- editing TODO.md for agents (claim_task, complete_task, add_task) ---------------------

export interface TodoItem {
  /** 1-based among the file's items. */
  number: number;
  line: number;
  done: boolean;
  text: string;
  owners: string[];
}

export function todoItems(text: string): TodoItem[] {
  const items: TodoItem[] = [];
  text.split('\n').forEach((raw, line) => {
    const m = ITEM.exec(raw.replace(/\r$/, ''));
    if (!m) return;
    items.push({ number: items.length + 1, line, done: m[1] !== ' ', text: m[2].trim(), owners: splitClaims(m[2]).owners });
  });
  return items;
}

/** The item `ref` names: its number, its exact text, or a part of its text found in no other item. */
export function findItem(items: TodoItem[], ref: string): TodoItem {
  const r = ref.trim();
  const list = (): string =>
    items
      .slice(0, 20)
      .map((i) => `${i.number}. ${i.done ? '[x]' : '[ ]'} ${i.text}`)
      .join('; ') || 'none';
  if (/^[1-9][0-9]*$/.test(r)) {
    const hit = items[Number(r) - 1];
    if (!hit) throw new UserError(`TODO.md has no item ${r} (it has ${items.length}). Items: ${list()}.`);
    return hit;
  }
  const bare = (t: string): string => splitClaims(t).task.trim().toLowerCase();
  const exact = items.filter((i) => bare(i.text) === bare(r) || i.text.toLowerCase() === r.toLowerCase());
  if (exact.length === 1) return exact[0];
  const part = items.filter((i) => i.text.toLowerCase().includes(r.toLowerCase()));
  if (part.length === 1) return part[0];
  if (!part.length) throw new UserError(`no TODO.md item matches "${r}". Items: ${list()}.`);
  throw new UserError(`"${r}" matches ${part.length} TODO.md items (${part.map((i) => i.number).join(', ')}); pass the item's number instead.`);
}

export type TodoEdit<T> = (text: string, items: TodoItem[]) => { text: string; result: T };

const todoMutex = new KeyedMutex();

/**
 * Edits TODO.md under a lock shared by every tabcrew process (proper-lockfile; the lock lives
 * in the runtime dir, not in the user's repo) and written atomically, so two agents racing for
 * one item see each other's change: one claim succeeds, the other is refused. Agents that
 * edit the file with their own tools bypass the lock; the tools re-read it under the lock.
 */
export async function editTodo<T>(root: string, lockDir: string, edit: TodoEdit<T>, opts: { create?: boolean } = {}): Promise<T> {
  const path = join(root, 'TODO.md');
  return todoMutex.run(path, async () => {
    await mkdir(lockDir, { recursive: true, mode: 0o700 });
    const lockPath = join(lockDir, `todo-${createHash('sha256').update(path).digest('hex').slice(0, 16)}.lock`);
    const release = await lockfile.lock(path, {
      lockfilePath: lockPath,
      realpath: false,
      stale: 10_000,
      retries: { retries: 100, factor: 1.2, minTimeout: 5, maxTimeout: 100 },
      onCompromised: () => undefined,
    });
    try {
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        if (!opts.create) throw new UserError(`there is no TODO.md in the session root ${root}; add an item with add_task first.`);
        text = '# TODO\n\n';
      }
      const out = edit(text, todoItems(text));
      if (out.text !== text) await writeFileAtomic(path, out.text);
      return out.result;
    } finally {
      await release().catch(() => undefined);
    }
  });
}

function replaceLine(text: string, line: number, next: string): string {
  const lines = text.split('\n');
  lines[line] = next;
  return lines.join('\n');
}

export function claimEdit(agent: string, ref: string): TodoEdit<{ task: string; number: number; note?: string }> {
  return (text, items) => {
    const item = findItem(items, ref);
    if (item.done) throw new UserError(`TODO.md item ${item.number} ("${item.text}") is already done; claim an open item.`);
    const others = item.owners.filter((o) => o !== agent);
    if (others.length) throw new UserError(`TODO.md item ${item.number} ("${item.text}") is already claimed by ${others.join(', ')}; pick another open item.`);
    if (item.owners.includes(agent)) return { text, result: { task: item.text, number: item.number, note: 'you had already claimed it' } };
    const raw = text.split('\n')[item.line].replace(/\s*$/, '');
    return { text: replaceLine(text, item.line, `${raw} (${agent})`), result: { task: `${item.text} (${agent})`, number: item.number } };
  };
}

export function completeEdit(agent: string, ref: string, note?: string): TodoEdit<{ task: string; number: number }> {
  return (text, items) => {
    const item = findItem(items, ref);
    if (!item.owners.includes(agent)) {
      const by = item.owners.length ? `it is claimed by ${item.owners.join(', ')}` : 'nobody has claimed it';
      throw new UserError(`TODO.md item ${item.number} ("${item.text}") is not yours (${by}); claim it with claim_task first.`);
    }
    const raw = text.split('\n')[item.line];
    let next = replaceLine(text, item.line, raw.replace(/\[ \]/, '[x]'));
    if (note) {
      const lines = next.split('\n');
      lines.splice(item.line + 1, 0, `  - note ${agent}: ${note}`);
      next = lines.join('\n');
    }
    return { text: next, result: { task: item.text, number: item.number } };
  };
}

export function addEdit(taskText: string): TodoEdit<{ task: string; number: number }> {
  const claimed = splitClaims(taskText).owners;
  if (claimed.length) {
    throw new UserError(
      `a task cannot end with "(${claimed.join(', ')})": that marks a claim in TODO.md, and an agent claims only for itself, with claim_task. Add the task without it (write "for ${claimed[0]}" if it is meant for them), then claim it if it is yours.`,
    );
  }
  return (text, items) => {
    const body = text.endsWith('\n') || text === '' ? text : `${text}\n`;
    return { text: `${body}- [ ] ${taskText.trim()}\n`, result: { task: taskText.trim(), number: items.length + 1 } };
  };
}
