import { describe, expect, it } from 'vitest';
import { parseTodo } from '../../src/supervisor/todo.js';

describe('TODO.md at the session root', () => {
  it('counts open and done items and credits the agents they name', () => {
    const todo = parseTodo(
      [
        '# Tasks',
        '- [ ] Fix login (Agent_1)',
        '- [x] Write tests (Agent_2)',
        '* [X] Update docs Agent_1',
        '- [ ] Unclaimed',
        '  - handoff Agent_1 → Agent_2: not a task',
        '- [ ] Pair task (Agent_1, Agent_2)',
        'Agent_10 is not Agent_1',
      ].join('\n'),
      '/r/TODO.md',
    );
    expect({ open: todo.open, done: todo.done }).toEqual({ open: 3, done: 2 });
    expect(todo.byAgent.get('Agent_1')).toEqual({ open: 2, done: 1 });
    expect(todo.byAgent.get('Agent_2')).toEqual({ open: 1, done: 1 });
    expect(todo.byAgent.has('Agent_10')).toBe(false);
  });
});
