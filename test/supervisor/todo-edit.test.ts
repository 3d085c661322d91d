import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { addEdit, claimEdit, completeEdit, editTodo, todoItems } from '../../src/supervisor/todo.js';

const base = mkdtempSync(join(tmpdir(), 'tabcrew-todo-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
function root(todo?: string): { root: string; locks: string; read: () => string } {
  const r = join(base, `r${++n}`);
  mkdirSync(r);
  if (todo !== undefined) writeFileSync(join(r, 'TODO.md'), todo);
  return { root: r, locks: join(base, 'locks'), read: () => readFileSync(join(r, 'TODO.md'), 'utf8') };
}

describe('agents editing TODO.md through tabcrew', () => {
  it('ten agents claiming one item at once: exactly one gets it, the others are told who has it', async () => {
    const r = root('# TODO\n- [ ] Build the client\n- [ ] Other\n');
    const outcomes = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => editTodo(r.root, r.locks, claimEdit(`Agent_${i + 1}`, 'Build the client'))));
    expect(outcomes.filter((o) => o.status === 'fulfilled').length).toBe(1);
    for (const o of outcomes.filter((o) => o.status === 'rejected'))
      expect(String((o as PromiseRejectedResult).reason)).toMatch(/already claimed by Agent_\d+/);
    expect(r.read().match(/\(Agent_\d+\)/g)?.length).toBe(1);
  });

  it('an item is found by number, exact text or a unique part; an ambiguous part asks for the number', async () => {
    const r = root('- [ ] Fix login redirect\n- [ ] Fix logout\n- [x] Done one (Agent_2)\n');
    expect(await editTodo(r.root, r.locks, claimEdit('Agent_1', '2'))).toMatchObject({ number: 2 });
    expect(await editTodo(r.root, r.locks, claimEdit('Agent_1', 'login redirect'))).toMatchObject({ number: 1 });
    await expect(editTodo(r.root, r.locks, claimEdit('Agent_3', 'Fix'))).rejects.toThrow(/matches 2 TODO.md items \(1, 2\); pass the item's number/);
    await expect(editTodo(r.root, r.locks, claimEdit('Agent_3', '3'))).rejects.toThrow(/already done/);
    await expect(editTodo(r.root, r.locks, claimEdit('Agent_3', 'nothing like it'))).rejects.toThrow(/no TODO.md item matches/);
    // Claiming one's own item again is not an error.
    expect(await editTodo(r.root, r.locks, claimEdit('Agent_1', '1'))).toMatchObject({ note: 'you had already claimed it' });
  });

  it('only the agent that claimed an item completes it; the note goes under the item', async () => {
    const r = root('- [ ] Write tests\n- [ ] Next\n');
    await expect(editTodo(r.root, r.locks, completeEdit('Agent_1', '1'))).rejects.toThrow(/nobody has claimed it\); claim it with claim_task first/);
    await editTodo(r.root, r.locks, claimEdit('Agent_2', '1'));
    await expect(editTodo(r.root, r.locks, completeEdit('Agent_1', '1'))).rejects.toThrow(/claimed by Agent_2/);
    await editTodo(r.root, r.locks, completeEdit('Agent_2', '1', 'all green'));
    expect(r.read()).toBe('- [x] Write tests (Agent_2)\n  - note Agent_2: all green\n- [ ] Next\n');
  });

  it('add_task of a text ending in "(Agent_2)" is refused, so Agent_1 cannot make an item look claimed by Agent_2', async () => {
    const r = root('# TODO\n\n');
    for (const text of ['Deploy to prod (Agent_2)', 'Deploy to prod (Agent_2)  ', 'Deploy (Agent_1, Agent_2)', 'Deploy (Agent_3) (Agent_2)']) {
      expect(() => addEdit(text), text).toThrow(/cannot end with "\(Agent_[0-9, Agent_]+\)": that marks a claim in TODO.md.*claim_task/);
    }
    expect(r.read()).toBe('# TODO\n\n');
    // A name elsewhere in the text is no claim: Agent_2 may still claim it, and nobody else owns it.
    await editTodo(r.root, r.locks, addEdit('Review the patch of Agent_2 (Agent_2) first'), { create: true });
    await editTodo(r.root, r.locks, addEdit('Deploy to prod (Agent_2'), { create: true });
    expect(todoItems(r.read()).map((i) => i.owners)).toEqual([[], []]);
    expect(await editTodo(r.root, r.locks, claimEdit('Agent_1', '2'))).toMatchObject({ task: 'Deploy to prod (Agent_2 (Agent_1)' });
    expect(todoItems(r.read()).map((i) => i.owners)).toEqual([[], ['Agent_1']]);
    expect(await editTodo(r.root, r.locks, claimEdit('Agent_3', '1'))).toMatchObject({ number: 1 });
  });

  it('add_task appends an open item, creating TODO.md when there is none; claim needs the file', async () => {
    const r = root();
    await expect(editTodo(r.root, r.locks, claimEdit('Agent_1', '1'))).rejects.toThrow(/there is no TODO.md in the session root/);
    expect(await editTodo(r.root, r.locks, addEdit('First thing'), { create: true })).toEqual({ task: 'First thing', number: 1 });
    expect(await editTodo(r.root, r.locks, addEdit('Second'), { create: true })).toEqual({ task: 'Second', number: 2 });
    expect(r.read()).toBe('# TODO\n\n- [ ] First thing\n- [ ] Second\n');
  });
});
