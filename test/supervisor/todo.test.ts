import { describe, expect, it } from 'vitest';
import { parseTodo } from '../../src/supervisor/todo.js';

describe('TODO.md at the session root', () => {
  it('counts open and done items and credits the agents whose claim ends an item', () => {
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
    // "Update docs Agent_1" names Agent_1 but holds no claim: only "(Agent_N)" at the end is one.
    expect(todo.byAgent.get('Agent_1')).toEqual({ open: 2, done: 0 });
    expect(todo.byAgent.get('Agent_2')).toEqual({ open: 1, done: 1 });
    expect(todo.byAgent.has('Agent_10')).toBe(false);
  });

  it("a name inside an item's text is no claim: only the parentheses that end it are", () => {
    const todo = parseTodo(
      ['- [ ] Review Agent_2 patch', '- [ ] Ask (Agent_3) about it, then merge', '- [ ] Split (Agent_2) (Agent_4)', '- [ ] Not closed (Agent_5'].join('\n'),
      '/r/TODO.md',
    );
    expect([...todo.byAgent.keys()].sort()).toEqual(['Agent_2', 'Agent_4']);
  });
});
